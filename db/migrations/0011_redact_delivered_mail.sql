-- 0011_redact_delivered_mail: a mail's body holds its live links (reset,
-- magic link, verification). Since this version the body is emptied when the
-- mail is sent or given up; this empties the bodies already stored, so the
-- database and the backups taken from now on carry no usable link. Pending
-- mail keeps its body until it is delivered. Address, subject, status and
-- error stay, to show what was sent.
UPDATE emails SET text_body = '', html_body = '' WHERE status <> 'pending';
