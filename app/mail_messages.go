package app

import (
	"bytes"
	"context"
	"strings"
	"time"

	"skiff/db"
	"skiff/views"
)

// The mails Skiff sends. Each is queued with queueMail inside the transaction
// of the change it announces.

func verifyEmailMail(link string) views.EmailContent {
	return views.EmailContent{
		Title:       "Confirm your email address",
		Paragraphs:  []string{"Welcome to Skiff! Please confirm that this is your email address."},
		ButtonLabel: "Confirm my address", ButtonURL: link,
		After: []string{"This link is valid for 48 hours.", "If you did not create an account, you can ignore this mail."},
	}
}

func resetPasswordMail(link string) views.EmailContent {
	return views.EmailContent{
		Title:       "Reset your password",
		Paragraphs:  []string{"Someone, hopefully you, asked to reset the password of your Skiff account."},
		ButtonLabel: "Choose a new password", ButtonURL: link,
		After: []string{"This link is valid for one hour and works once.", "If you did not ask for this, ignore this mail: your password stays as it is."},
	}
}

func passwordChangedMail(origin string) views.EmailContent {
	return views.EmailContent{
		Title:      "Your password was changed",
		Paragraphs: []string{"The password of your Skiff account was just changed, and other sessions were signed out."},
		After:      []string{"If this was not you, reset your password now at " + origin + "/forgot-password and check your account."},
	}
}

func passwordResetMail(providers, passkeys []string, origin string) views.EmailContent {
	c := views.EmailContent{
		Title: "Your password was reset",
		Paragraphs: []string{"The password of your Skiff account was just reset with a link sent to this address. " +
			"Every session was signed out and every API token was revoked: a reset means someone may have had access."},
		ButtonLabel: "Review your account", ButtonURL: origin + "/settings/security#connected-accounts",
		After: []string{"If this was not you, reset your password again now at " + origin + "/forgot-password."},
	}
	if len(passkeys) > 0 {
		c.Paragraphs = append(c.Paragraphs, "Its passkeys were removed too: "+strings.Join(passkeys, ", ")+
			". Add yours again from Settings, Password and security.")
	}
	if len(providers) > 0 {
		c.Paragraphs = append(c.Paragraphs, "These connected accounts can still log in to it: "+strings.Join(providers, ", ")+
			". Disconnect any you do not recognise.")
	} else {
		c.Paragraphs = append(c.Paragraphs, "No other account (GitHub, Google, single sign-on) is connected to it.")
	}
	return c
}

// wayInMail announces a way into the account added or removed.
func wayInMail(title, what, origin string) views.EmailContent {
	return views.EmailContent{
		Title:       title,
		Paragraphs:  []string{what},
		ButtonLabel: "Review your account", ButtonURL: origin + "/settings/security",
		After: []string{"If this was not you, change your password at once, then undo it in Settings."},
	}
}

func magicLinkMail(link string, signup bool) views.EmailContent {
	title, intro := "Your login link", "Use this link to log in to Skiff. It works once."
	if signup {
		title, intro = "Finish creating your account", "Use this link to create your Skiff account and log in. It works once."
	}
	return views.EmailContent{
		Title: title, Paragraphs: []string{intro},
		ButtonLabel: "Log in to Skiff", ButtonURL: link,
		After: []string{"This link is valid for 15 minutes.", "If you did not ask for it, ignore this mail: nobody can log in without it."},
	}
}

func changeEmailConfirmMail(link string) views.EmailContent {
	return views.EmailContent{
		Title:       "Confirm your new email address",
		Paragraphs:  []string{"You asked to use this address for your Skiff account. Confirm it to make the change."},
		ButtonLabel: "Use this address", ButtonURL: link,
		After: []string{"This link is valid for 24 hours.", "If you did not ask for this, ignore this mail."},
	}
}

func changeEmailNoticeMail(newAddr, origin string) views.EmailContent {
	return views.EmailContent{
		Title: "A change of email address was requested",
		Paragraphs: []string{"Someone signed in to your Skiff account asked to change its email address to " + newAddr +
			". The change happens only if that address confirms it."},
		After: []string{"If this was not you, change your password at " + origin + "/settings/security and check your account."},
	}
}

func newSignInMail(device, ip string, at time.Time, origin string) views.EmailContent {
	return views.EmailContent{
		Title: "New sign-in to your account",
		Paragraphs: []string{"Your Skiff account was just signed in to from a device we had not seen before:",
			device + ", from " + ip + ", at " + at.UTC().Format("2 Jan 2006 15:04 UTC") + "."},
		ButtonLabel: "Review your sessions", ButtonURL: origin + "/settings/sessions",
		After: []string{"If this was you, there is nothing to do. If not, sign that session out from Settings and change your password."},
	}
}

func goodbyeMail() views.EmailContent {
	return views.EmailContent{
		Title:      "Your account has been deleted",
		Paragraphs: []string{"Your Skiff account and its data have been deleted, and any subscription was cancelled. We are sorry to see you go."},
		After:      []string{"If you did not do this, reply to this mail at once."},
	}
}

// queueMail renders a mail and puts it in the outbox within q's transaction
// (with its job, on Postgres: jobs.go).
func (s *Server) queueMail(ctx context.Context, q db.Queries, to string, c views.EmailContent) error {
	var html bytes.Buffer
	if err := views.EmailHTML(c).Render(ctx, &html); err != nil {
		return err
	}
	id, err := q.EnqueueEmail(ctx, db.Email{To: to, Subject: c.Title, Text: views.EmailText(c), HTML: html.String()})
	if err != nil {
		return err
	}
	return s.jobs.mailQueued(ctx, q, id)
}
