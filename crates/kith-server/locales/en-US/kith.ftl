# The staff interface and the sign-in page, in English.

app-name = Kith
skip-to-content = Skip to content
nav-contacts = Contacts
nav-main = Main
sign-in-title = Sign in to Kith
sign-in = Sign in
sign-out = Sign out
field-email = E-mail address
field-password = Password
field-second-factor = Authenticator code or recovery code
field-second-factor-hint = Only if your account has a second factor.
sign-in-failed = The e-mail address, password or code is not right, or the account is locked. Try again.
sign-in-limited = Too many attempts from here. Wait a minute, then try again.
signed-in-as = Signed in as { $name }
purpose-current = Purpose: { $purpose }
contacts-title = Contacts
contacts-search = Search
contacts-search-name = Name
contacts-search-email = E-mail address
contacts-none = No contacts match.
contacts-next = Next page
contacts-count = { $count ->
    [one] One contact on this page
   *[other] { $count } contacts on this page
}
column-name = Name
column-emails = E-mail addresses
column-phones = Phone numbers
column-tags = Tags
column-updated = Updated
contact-title = Contact
contact-details = Details
contact-back = Back to contacts
field-given-name = Given name
field-family-name = Family name
field-emails = E-mail addresses
field-phones = Phone numbers
field-job-title = Job title
field-notes = Notes
field-tags = Tags
field-birthday = Birthday
field-owner = Owner
field-created = Created
field-updated = Updated
unnamed = (no name)
error-title = Something went wrong
error-back = Back to contacts
not-found = Nothing is here.
not-for-purpose = This person's data may not be used for the purpose you work under now.
forbidden = Your role may not see this.
session-ended = Your session ended. Sign in again.
