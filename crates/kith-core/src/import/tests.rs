use super::*;

fn contacts(text: &str, mapping: &[&str]) -> Vec<Result<Contact, RowProblem>> {
    let mapping = mapping.iter().map(|m| headers::parse_mapping(m).unwrap()).collect();
    let file = read(text.as_bytes(), &ReadOptions { mapping, ..ReadOptions::default() }).unwrap();
    file.rows.into_iter().map(|r| r.contact).collect()
}

fn one(text: &str) -> Contact {
    contacts(text, &[]).remove(0).unwrap()
}

#[test]
fn hubspot_export() {
    let c = one("Record ID,First Name,Last Name,Email,Phone Number,Company Name,Job Title,Street Address,City,\
         State/Region,Postal Code,Country/Region,Contact owner,Lifecycle Stage\n\
         501,Olena,Kovalenko,Olena@Example.org,+380 44 123 4567,Acme,Buyer,Khreshchatyk 1,Kyiv,,01001,Ukraine,\
         Jane Staff,lead\n");
    assert_eq!((c.given_name.as_deref(), c.family_name.as_deref()), (Some("Olena"), Some("Kovalenko")));
    assert_eq!(c.emails, ["Olena@example.org"]);
    assert_eq!(c.phones, ["+380441234567"]);
    assert_eq!(c.addresses[0].country.as_deref(), Some("UA"));
    assert_eq!(c.addresses[0].postal_code.as_deref(), Some("01001"));
    assert_eq!(c.custom["company"], "Acme");
    assert_eq!(c.custom["external_id"], "501");
    assert_eq!(c.owner, None, "a CRM's owner names someone of another system");
}

#[test]
fn salesforce_export() {
    let c = one("\"Contact ID\",\"First Name\",\"Last Name\",\"Title\",\"Email\",\"Phone\",\"Mobile\",\"Mailing Street\",\
         \"Mailing City\",\"Mailing State/Province\",\"Mailing Zip/Postal Code\",\"Mailing Country\",\"Birthdate\",\
         \"Description\",\"Email Opt Out\"\n\
         \"0035g00000AbCdE\",\"Jörg\",\"Müller\",\"Buyer\",\"joerg@example.de\",\"+49 30 1234567\",\"+49 171 1234567\",\
         \"Unter den Linden 1\nHinterhaus\",\"Berlin\",\"\",\"10117\",\"Germany\",\"1980-02-29\",\"Met at fair\",\"0\"\n");
    assert_eq!(c.job_title.as_deref(), Some("Buyer"));
    assert_eq!(c.phones, ["+49301234567", "+491711234567"]);
    assert_eq!(c.addresses[0].street.as_deref(), Some("Unter den Linden 1\nHinterhaus"));
    assert_eq!(c.addresses[0].country.as_deref(), Some("DE"));
    assert_eq!(c.birthday.as_deref(), Some("1980-02-29"));
    assert_eq!(c.notes.as_deref(), Some("Met at fair"));
}

#[test]
fn pipedrive_export() {
    let c =
        one("Person - Name,Person - Email - Work,Person - Email - Home,Person - Phone - Work,Person - Organization,\
         Person - Labels\nAnna Maria Nowak,anna@firma.pl,anna.nowak@example.pl,+48 22 123 45 67,Firma,Hot lead\n");
    assert_eq!((c.given_name.as_deref(), c.family_name.as_deref()), (Some("Anna Maria"), Some("Nowak")));
    assert_eq!(c.emails.len(), 2);
    assert_eq!(c.tags, ["Hot lead"]);
}

#[test]
fn zoho_export_with_semicolons() {
    let c = one("First Name;Last Name;Email;Secondary Email;Mobile;Account Name;Mailing Street;Mailing City;\
         Mailing Zip;Mailing Country;Date of Birth;Tag\nJean;Dupont;jean@example.fr;;+33 6 12 34 56 78;Société;\
         1 rue de Rivoli;Paris;75001;FR;14.07.1975;client,vip\n");
    assert_eq!(c.birthday.as_deref(), Some("1975-07-14"));
    assert_eq!(c.tags, ["client", "vip"]);
    assert_eq!(c.addresses[0].city.as_deref(), Some("Paris"));
}

#[test]
fn google_contacts_export() {
    let c = one("Name,Given Name,Additional Name,Family Name,Birthday,Notes,Group Membership,E-mail 1 - Type,\
         E-mail 1 - Value,E-mail 2 - Type,E-mail 2 - Value,Phone 1 - Type,Phone 1 - Value,Address 1 - Type,\
         Address 1 - Formatted,Address 1 - Street,Address 1 - City,Address 1 - Region,Address 1 - Postal Code,\
         Address 1 - Country,Organization 1 - Name,Organization 1 - Title\n\
         Taras Shevchenko,Taras,,Shevchenko,1990-03-09,,* myContacts ::: Poets,* Home,taras@example.ua,* Work,\
         t.shevchenko@example.com,Mobile,+380 50 111 2233,Home,\"Kyiv, UA\",Volodymyrska 1,Kyiv,,01001,UA,\
         Kobzar LLC,Poet\n");
    assert_eq!(c.emails.len(), 2);
    assert_eq!(c.tags, ["Poets"]);
    assert_eq!(c.job_title.as_deref(), Some("Poet"));
    assert_eq!(c.addresses.len(), 1);
    assert_eq!(c.addresses[0].street.as_deref(), Some("Volodymyrska 1"));
}

#[test]
fn outlook_export_title_is_an_honorific() {
    let c = one("Title,First Name,Middle Name,Last Name,Company,Job Title,Business Street,Business City,\
         Business Postal Code,Business Country/Region,Home Street,Home City,Business Phone,Mobile Phone,E-mail Address,\
         E-mail 2 Address,E-mail 3 Address,Categories\n\
         Dr.,John,Q,Public,Contoso,Manager,1 Main St,Springfield,12345,United States,2 Elm St,Shelbyville,\
         +1 555 010 2030,,john@contoso.example,,,Customers;Golf\n");
    assert_eq!(c.job_title.as_deref(), Some("Manager"));
    assert_eq!(c.given_name.as_deref(), Some("John Q"));
    assert_eq!(c.addresses.len(), 2, "business and home");
    assert!(c.addresses.iter().any(|a| a.country.as_deref() == Some("US")));
    assert_eq!(c.tags, ["Customers", "Golf"]);
}

#[test]
fn broken_rows_name_the_row_column_and_rule_never_the_value() {
    let rows = contacts(
        "Name,E-mail,Phone,Birthday,Country\nOk Person,ok@example.org,,,\nBad,SECRET-not-an-address,,,\n\
         Bad2,,0441234567,,\nBad3,,,04/12/1990,\nBad4,,,,Atlantis\n,,,,\n",
        &["E-mail=emails", "Country=address.country"],
    );
    assert_eq!(rows.len(), 5, "the empty row is skipped");
    assert!(rows[0].is_ok());
    let problems: Vec<RowProblem> = rows.into_iter().skip(1).map(|r| r.unwrap_err()).collect();
    let columns: Vec<(usize, &str)> = problems.iter().map(|p| (p.row, p.column.as_deref().unwrap())).collect();
    assert_eq!(columns, [(3, "E-mail"), (4, "Phone"), (5, "Birthday"), (6, "Country")]);
    assert!(problems.iter().all(|p| !p.rule.contains("SECRET") && !p.rule.contains("Atlantis")));
}

#[test]
fn a_row_without_name_address_or_number_is_a_problem() {
    let rows = contacts("First Name,Email,Job Title\n,,Buyer\n", &[]);
    let problem = rows[0].clone().unwrap_err();
    assert_eq!((problem.row, problem.code.as_str()), (2, "missing_field"));
}

#[test]
fn files_are_refused_whole_when_no_column_identifies_anyone_or_a_mapping_names_no_column() {
    let none = read(b"Colour,Size\nred,L\n", &ReadOptions::default()).unwrap_err();
    assert!(none.detail.contains("no column"));
    let mapping = vec![headers::parse_mapping("Mail=emails").unwrap()];
    let missing = read(b"Name\nx\n", &ReadOptions { mapping, ..ReadOptions::default() }).unwrap_err();
    assert!(missing.detail.contains("Mail"));
}

#[test]
fn explicit_mapping_overrides_and_ignores() {
    let rows = contacts(
        "Kontakt,Mail,Ort,Title\nOlena,o@example.org,Kyiv,Ms\n",
        &["Kontakt=given_name", "Mail=emails", "Ort=address.city", "Title=ignore"],
    );
    let c = rows[0].clone().unwrap();
    assert_eq!(c.addresses[0].city.as_deref(), Some("Kyiv"));
    assert_eq!(c.job_title, None);
}

#[test]
fn windows_1251_file_and_vcard_detection() {
    let bytes = encoding_rs::WINDOWS_1251.encode("Ім'я;Прізвище;Email\nОлена;Коваленко;olena@example.org\n").0;
    let mapping = vec![
        headers::parse_mapping("Ім'я=given_name").unwrap(),
        headers::parse_mapping("Прізвище=family_name").unwrap(),
    ];
    let file = read(&bytes, &ReadOptions { mapping, ..ReadOptions::default() }).unwrap();
    assert_eq!(file.encoding, "windows-1251");
    assert_eq!(file.rows[0].contact.as_ref().unwrap().family_name.as_deref(), Some("Коваленко"));
    let card =
        read(b"\xEF\xBB\xBFBEGIN:VCARD\r\nVERSION:3.0\r\nFN:A B\r\nEND:VCARD\r\n", &ReadOptions::default()).unwrap();
    assert_eq!(card.format, FileFormat::Vcard);
    assert_eq!(card.rows[0].contact.as_ref().unwrap().family_name.as_deref(), Some("B"));
}
