# Інтерфейс для працівників і сторінка входу, українською.

app-name = Kith
skip-to-content = Перейти до вмісту
nav-contacts = Контакти
nav-main = Головне меню
sign-in-title = Вхід до Kith
sign-in = Увійти
sign-out = Вийти
field-email = Адреса електронної пошти
field-password = Пароль
field-second-factor = Код автентифікатора або код відновлення
field-second-factor-hint = Лише якщо для облікового запису ввімкнено другий фактор.
sign-in-failed = Неправильна адреса, пароль чи код, або обліковий запис заблоковано. Спробуйте ще раз.
sign-in-limited = Забагато спроб звідси. Зачекайте хвилину й спробуйте знову.
signed-in-as = Ви увійшли як { $name }
purpose-current = Мета: { $purpose }
contacts-title = Контакти
contacts-search = Шукати
contacts-search-name = Ім’я
contacts-search-email = Адреса електронної пошти
contacts-none = Жодного контакту не знайдено.
contacts-next = Наступна сторінка
contacts-count = { $count ->
    [one] Один контакт на цій сторінці
    [few] { $count } контакти на цій сторінці
   *[other] { $count } контактів на цій сторінці
}
column-name = Ім’я
column-emails = Адреси електронної пошти
column-phones = Номери телефонів
column-tags = Мітки
column-updated = Змінено
contact-title = Контакт
contact-details = Відомості
contact-back = Назад до контактів
field-given-name = Ім’я
field-family-name = Прізвище
field-emails = Адреси електронної пошти
field-phones = Номери телефонів
field-job-title = Посада
field-notes = Нотатки
field-tags = Мітки
field-birthday = День народження
field-owner = Власник
field-created = Створено
field-updated = Змінено
unnamed = (без імені)
error-title = Щось пішло не так
error-back = Назад до контактів
not-found = Тут нічого немає.
not-for-purpose = Дані цієї особи зараз не можна використовувати для мети, з якою ви працюєте.
forbidden = Вашій ролі це не дозволено бачити.
session-ended = Сеанс завершено. Увійдіть знову.
purpose-label = Мета
purpose-use = Застосувати мету
timeline-title = Хронологія
timeline-none = Ще нічого не записано.
timeline-interaction = { $kind ->
    [call] Дзвінок
    [email] Лист
    [meeting] Зустріч
    [task] Завдання
   *[note] Нотатка
}
timeline-deal = Угода ({ $stage })
timeline-purchase = Покупка
consent-title = Згода
consent-broken = Журнал згод цієї особи не проходить перевірку: жодна згода не діє, доки її не перегляне DPO.
consent-current = Поточний вибір
consent-none = Жодної згоди не записано.
consent-given = надано
consent-withdrawn = відкликано
consent-ledger = Журнал
consent-record = Записати вибір
consent-purpose = Мета
consent-choice = Вибір
consent-give = Надає згоду
consent-withdraw = Відкликає згоду
consent-notice = Версія повідомлення про конфіденційність
consent-method = Як надано
consent-save = Записати
method-in_person = Особисто
method-phone = Телефоном
method-web_form = Вебформа
method-api = Записано працівником
method-double_opt_in = Подвійне підтвердження
method-import = Імпорт
method-agent = Уповноважений представник
restriction-title = Обмеження та заперечення
restricted-yes = Обробку обмежено (ст. 18): лише зберігання та те, що дозволить DPO.
restricted-no = Обробку не обмежено.
objections-none = Заперечень немає.
objections-list = Заперечує проти: { $purposes }
access-title = Хто мав доступ до даних цієї особи
access-none = Доступу не записано.
column-when = Коли
column-who = Хто
column-action = Дія
column-fields = Поля
column-purpose = Мета
column-what = Що
