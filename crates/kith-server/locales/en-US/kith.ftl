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
purpose-label = Purpose
purpose-use = Use this purpose
timeline-title = Timeline
timeline-none = Nothing recorded yet.
timeline-interaction = { $kind ->
    [call] Call
    [email] E-mail
    [meeting] Meeting
    [task] Task
   *[note] Note
}
timeline-deal = Deal ({ $stage })
timeline-purchase = Purchase
consent-title = Consent
consent-broken = This person's consent ledger does not verify: no consent counts until the DPO has looked at it.
consent-current = Current choices
consent-none = No consent recorded.
consent-given = given
consent-withdrawn = withdrawn
consent-ledger = Ledger
consent-record = Record a choice
consent-purpose = Purpose
consent-choice = Choice
consent-give = Gives consent
consent-withdraw = Withdraws consent
consent-notice = Privacy notice version
consent-method = How it was given
consent-save = Record
method-in_person = In person
method-phone = By phone
method-web_form = Web form
method-api = Recorded by staff
method-double_opt_in = Double opt-in
method-import = Import
method-agent = Authorised agent
restriction-title = Restriction and objections
restricted-yes = Processing is restricted (Art. 18): only storage, and what the DPO allows.
restricted-no = Processing is not restricted.
objections-none = No objections.
objections-list = Objects to: { $purposes }
access-title = Who accessed this person
access-none = No access recorded.
column-when = When
column-who = Who
column-action = Action
column-fields = Fields
column-purpose = Purpose
column-what = What
