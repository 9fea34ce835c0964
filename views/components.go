package views

// Link is a labelled local link: a breadcrumb, a next step.
type Link struct {
	URL, Label string
}

// Form is a submitted form as a page shows it again: the values the user typed
// (never passwords) and the messages about them.
type Form struct {
	Values map[string]string
	Errors map[string]string // field name -> message
	Error  string            // a message about the whole form
}

// Value returns the submitted value of a field.
func (f Form) Value(name string) string { return f.Values[name] }

// Err returns the message for a field, or "".
func (f Form) Err(name string) string { return f.Errors[name] }

// Field describes one labelled input.
type Field struct {
	ID           string // the element id, when Name is used by two forms of a page
	Name         string
	Label        string
	Type         string // text, email, password...
	Autocomplete string
	Hint         string // shown under the input when there is no error
	Required     bool
	MinLength    int
	MaxLength    int
	Autofocus    bool
}

func fieldID(fd Field) string {
	if fd.ID != "" {
		return fd.ID
	}
	return fd.Name
}

// Provider is a social login button.
type Provider struct{ ID, Name string }

func providerURL(p Provider, next string) string {
	u := "/auth/" + p.ID
	if next != "" {
		u += "?next=" + urlQueryEscape(next)
	}
	return u
}
