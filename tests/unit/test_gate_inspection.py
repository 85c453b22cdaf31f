"""The outbound gate's parameter and markup allow-lists, on aiogram method objects built directly."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import Default
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    SendDocument,
    SendMessage,
    SetMyCommands,
    SetMyDescription,
    SetMyName,
    SetMyShortDescription,
    TelegramMethod,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    CopyTextButton,
    ForceReply,
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    KeyboardButtonPollType,
    LinkPreviewOptions,
    LoginUrl,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
    SwitchInlineQueryChosenChat,
    WebAppInfo,
)

from bot.content import Origin, RenderLedger
from bot.content.rendering import attachment_token
from bot.errors import GateRefused
from bot.gate import OutboundGate
from bot.gate.inspection import INSPECTED, MARKUP_FIELDS, PARAMETERS, NotAllowed, inspect_call
from tests.helpers import TEST_TOKEN

METHODS: dict[str, type[TelegramMethod[Any]]] = {
    "sendMessage": SendMessage,
    "sendDocument": SendDocument,
    "editMessageText": EditMessageText,
    "editMessageCaption": EditMessageCaption,
    "editMessageReplyMarkup": EditMessageReplyMarkup,
    "answerCallbackQuery": AnswerCallbackQuery,
    "setMyCommands": SetMyCommands,
    "setMyDescription": SetMyDescription,
    "setMyShortDescription": SetMyShortDescription,
    "setMyName": SetMyName,
}
ORIGIN = Origin("text:x", "d", "en", "v1")


class FakeClock:
    def now(self) -> float:
        return 1000.0

    async def sleep(self, seconds: float) -> None:
        return None


@pytest.fixture
def bot() -> Bot:
    return Bot(TEST_TOKEN)


def refusal(bot: Bot, method: TelegramMethod[Any]) -> str:
    with pytest.raises(NotAllowed) as refused:
        inspect_call(bot, method)
    return refused.value.reason


def button_markup(**fields: Any) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Back", **fields)]])


def test_every_inspected_method_has_an_allow_list_of_real_fields() -> None:
    assert set(METHODS) == INSPECTED
    for name, cls in METHODS.items():
        assert cls.__api_method__ == name
        assert PARAMETERS[name] <= set(cls.model_fields), name
    for markup, fields in MARKUP_FIELDS.items():
        assert fields <= set(markup.model_fields), markup.__name__


def test_plain_calls_pass_and_their_displayed_strings_are_collected(bot: Bot) -> None:
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="Back", callback_data="menu")],
            [InlineKeyboardButton(text="Site", url="https://example.com")],
        ]
    )
    outgoing = inspect_call(bot, SendMessage(chat_id=1, text="Hello", reply_markup=markup))
    assert outgoing.texts == ("Hello", "Back", "Site", "https://example.com")
    assert outgoing.chat_id == 1
    assert not outgoing.formatting
    commands = SetMyCommands(
        commands=[BotCommand(command="help", description="Get help")],
        scope=BotCommandScopeChat(chat_id=1),
        language_code="de",
    )
    assert inspect_call(bot, commands).texts == ("Get help",)
    assert inspect_call(bot, commands).chat_id is None
    assert inspect_call(bot, SetMyName(name="Guardbot", language_code="de")).texts == ("Guardbot",)


def test_defaults_and_none_count_as_absent(bot: Bot) -> None:
    method = SendMessage(
        chat_id=1,
        text="Hello",
        message_thread_id=None,
        protect_content=Default("protect_content"),
        reply_parameters=ReplyParameters(message_id=5),  # quote_parse_mode etc. stay Default
    )
    assert inspect_call(bot, method).texts == ("Hello",)
    assert inspect_call(bot, EditMessageCaption(chat_id=1, message_id=2, caption="c")).texts == ("c",)


@pytest.mark.parametrize(
    ("method", "reason"),
    [
        (SendMessage(chat_id=1, text="t", foo="x"), "parameter foo is not allowed"),
        (
            SendMessage(chat_id=1, text="t", message_effect_id="5"),
            "parameter message_effect_id is not allowed",
        ),
        (
            SendMessage(chat_id=1, text="t", business_connection_id="b"),
            "parameter business_connection_id is not allowed",
        ),
        (
            EditMessageText(inline_message_id="i", text="t"),
            "parameter inline_message_id is not allowed",
        ),
        (
            EditMessageCaption(chat_id=1, message_id=2, caption="c", show_caption_above_media=True),
            "parameter show_caption_above_media is not allowed",
        ),
        (
            EditMessageReplyMarkup(chat_id=1, message_id=2, inline_message_id="i"),
            "parameter inline_message_id is not allowed",
        ),
        (
            AnswerCallbackQuery(callback_query_id="q", url="https://evil.example"),
            "parameter url is not allowed",
        ),
        (SetMyDescription(description="d", foo=1), "parameter foo is not allowed"),
        (
            SetMyCommands(commands=[BotCommand(command="a", description="d", is_ephemeral=True)]),
            "parameter commands.is_ephemeral is not allowed",
        ),
        (
            SetMyCommands(commands=[BotCommand(command="a", description="d", foo="x")]),
            "parameter commands.foo is not allowed",
        ),
        (
            SetMyCommands(commands=[], scope=BotCommandScopeChat(chat_id=1, foo="x")),
            "parameter scope.foo is not allowed",
        ),
    ],
)
def test_parameters_outside_the_allow_list_are_refused(
    bot: Bot, method: TelegramMethod[Any], reason: str
) -> None:
    assert refusal(bot, method) == reason


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        (LinkPreviewOptions(url="https://evil.example"), "parameter link_preview_options.url is not allowed"),
        (
            LinkPreviewOptions(is_disabled=True, prefer_large_media=True),
            "parameter link_preview_options.prefer_large_media is not allowed",
        ),
        (LinkPreviewOptions(is_disabled=False), "link_preview_options may only disable the preview"),
        (LinkPreviewOptions(), "link_preview_options may only disable the preview"),
    ],
)
def test_link_preview_options_may_only_disable_the_preview(
    bot: Bot, options: LinkPreviewOptions, reason: str
) -> None:
    assert refusal(bot, SendMessage(chat_id=1, text="t", link_preview_options=options)) == reason
    edit = EditMessageText(chat_id=1, message_id=2, text="t", link_preview_options=options)
    assert refusal(bot, edit) == reason
    disabled = LinkPreviewOptions(is_disabled=True)
    inspect_call(bot, SendMessage(chat_id=1, text="t", link_preview_options=disabled))


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (ReplyParameters(chat_id=2, message_id=5), "reply_parameters points at another chat"),
        (ReplyParameters(message_id=5, quote="12345"), "parameter reply_parameters.quote is not allowed"),
        (
            ReplyParameters(message_id=5, quote_entities=[MessageEntity(type="bold", offset=0, length=1)]),
            "parameter reply_parameters.quote_entities is not allowed",
        ),
        (
            ReplyParameters(message_id=5, quote_position=0),
            "parameter reply_parameters.quote_position is not allowed",
        ),
        (
            ReplyParameters(message_id=5, checklist_task_id=1),
            "parameter reply_parameters.checklist_task_id is not allowed",
        ),
    ],
)
def test_reply_parameters_stay_in_the_chat_and_quote_nothing(
    bot: Bot, reply: ReplyParameters, reason: str
) -> None:
    assert refusal(bot, SendMessage(chat_id=1, text="t", reply_parameters=reply)) == reason


def test_replies_within_the_chat_pass(bot: Bot) -> None:
    for reply in (
        ReplyParameters(message_id=5),
        ReplyParameters(chat_id=1, message_id=5, allow_sending_without_reply=True),
    ):
        inspect_call(bot, SendMessage(chat_id=1, text="t", reply_parameters=reply, protect_content=True))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"login_url": LoginUrl(url="https://e.example", forward_text="90% off")}, "login_url"),
        ({"switch_inline_query": "90% off"}, "switch_inline_query"),
        ({"switch_inline_query_current_chat": "90% off"}, "switch_inline_query_current_chat"),
        (
            {"switch_inline_query_chosen_chat": SwitchInlineQueryChosenChat(query="90% off")},
            "switch_inline_query_chosen_chat",
        ),
        ({"copy_text": CopyTextButton(text="VOUCHER90")}, "copy_text"),
        ({"pay": True}, "pay"),
        ({"callback_game": {}}, "callback_game"),
        ({"callback_data": "m", "style": "danger"}, "style"),
        ({"callback_data": "m", "icon_custom_emoji_id": "1"}, "icon_custom_emoji_id"),
        ({"callback_data": "m", "foo": "x"}, "foo"),
    ],
)
def test_inline_button_fields_beyond_text_url_and_callback_data_are_refused(
    bot: Bot, fields: dict[str, Any], field: str
) -> None:
    method = SendMessage(chat_id=1, text="t", reply_markup=button_markup(**fields))
    assert refusal(bot, method) == f"markup field InlineKeyboardButton.{field} is not allowed"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"request_contact": True}, "request_contact"),
        ({"request_location": True}, "request_location"),
        ({"request_poll": KeyboardButtonPollType()}, "request_poll"),
        ({"web_app": WebAppInfo(url="https://e.example")}, "web_app"),
    ],
)
def test_reply_keyboard_buttons_carry_only_a_label(bot: Bot, fields: dict[str, Any], field: str) -> None:
    markup = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Share", **fields)]])
    method = SendMessage(chat_id=1, text="t", reply_markup=markup)
    assert refusal(bot, method) == f"markup field KeyboardButton.{field} is not allowed"


def test_other_markup_types_pass_with_their_placeholders_collected(bot: Bot) -> None:
    keyboard = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="Yes")]],
        resize_keyboard=True,
        one_time_keyboard=True,
        input_field_placeholder="Type here",
    )
    assert inspect_call(bot, SendMessage(chat_id=1, text="t", reply_markup=keyboard)).texts == (
        "t",
        "Yes",
        "Type here",
    )
    force = ForceReply(input_field_placeholder="Your answer")
    assert inspect_call(bot, SendMessage(chat_id=1, text="t", reply_markup=force)).texts == (
        "t",
        "Your answer",
    )
    remove = ReplyKeyboardRemove(selective=True)
    assert inspect_call(bot, SendMessage(chat_id=1, text="t", reply_markup=remove)).texts == ("t",)


def test_unknown_markup_types_and_non_string_labels_are_refused(bot: Bot) -> None:
    class Lookalike(InlineKeyboardMarkup):
        pass

    lookalike = Lookalike(inline_keyboard=[[InlineKeyboardButton(text="Back", callback_data="m")]])
    method = SendMessage(chat_id=1, text="t", reply_markup=lookalike)
    assert refusal(bot, method) == "markup type Lookalike is not allowed"

    unvalidated = InlineKeyboardButton.model_construct(text=["smuggled"], callback_data="m")  # type: ignore[arg-type]
    markup = InlineKeyboardMarkup(inline_keyboard=[[unvalidated]])
    method = SendMessage(chat_id=1, text="t", reply_markup=markup)
    assert refusal(bot, method) == "markup field InlineKeyboardButton.text is not a string"

    method = SendMessage(chat_id=1, text="t")
    method.text = ["smuggled"]  # type: ignore[assignment]  # method models do not validate assignment
    assert refusal(bot, method) == "parameter text is not a string"


def test_a_callback_answer_without_text_is_still_content_free(bot: Bot) -> None:
    outgoing = inspect_call(bot, AnswerCallbackQuery(callback_query_id="q", show_alert=True, cache_time=5))
    assert outgoing.texts == ()


def test_formatting_is_allowed_as_a_parameter_so_the_gate_can_refuse_it_by_name(bot: Bot) -> None:
    assert inspect_call(bot, SendMessage(chat_id=1, text="t", parse_mode="HTML")).formatting
    caption = EditMessageCaption(
        chat_id=1,
        message_id=2,
        caption="c",
        caption_entities=[MessageEntity(type="bold", offset=0, length=1)],
    )
    assert inspect_call(bot, caption).formatting


def test_a_call_refused_for_a_parameter_consumes_no_rendering(bot: Bot) -> None:
    ledger = RenderLedger(FakeClock())
    gate = OutboundGate(ledger)
    ledger.issue(1, "Hello", ORIGIN)
    ledger.issue(1, "Back", ORIGIN)
    markup = button_markup(callback_data="m")
    preview = LinkPreviewOptions(url="https://evil.example")
    with pytest.raises(GateRefused) as refused:
        gate.check(
            bot, SendMessage(chat_id=1, text="Hello", reply_markup=markup, link_preview_options=preview)
        )
    assert refused.value.reason == "parameter link_preview_options.url is not allowed"
    assert gate.refusals[-1] is refused.value
    with pytest.raises(GateRefused):
        gate.check(bot, SendMessage(chat_id=1, text="Hello", reply_markup=button_markup(pay=True)))
    assert len(ledger) == 2
    gate.check(bot, SendMessage(chat_id=1, text="Hello", reply_markup=markup))
    assert len(ledger) == 0


def test_a_document_passes_only_as_the_file_issued_for_that_chat(bot: Bot) -> None:
    ledger = RenderLedger(FakeClock())
    gate = OutboundGate(ledger)
    data = b'{"profile": {"telegram_user_id": 1}}'
    ledger.issue(1, attachment_token("my-data.json", data), ORIGIN)
    for document in ("AgADBAAD-a-file-id", "https://example.com/x.json", FSInputFile(__file__)):
        with pytest.raises(GateRefused, match="file the bot built"):
            gate.check(bot, SendDocument(chat_id=1, document=document, protect_content=True))
    with pytest.raises(GateRefused, match="protect_content"):
        gate.check(bot, SendDocument(chat_id=1, document=BufferedInputFile(data, "my-data.json")))

    def send(chat: int, file: BufferedInputFile) -> SendDocument:
        return SendDocument(chat_id=chat, document=file, protect_content=True)

    with pytest.raises(GateRefused, match="not rendered from the catalog for this chat"):
        gate.check(bot, send(2, BufferedInputFile(data, "my-data.json")))
    with pytest.raises(GateRefused, match="not rendered"):  # same bytes under another name
        gate.check(bot, send(1, BufferedInputFile(data, "other.json")))
    with pytest.raises(GateRefused, match="not rendered"):  # another content under the name
        gate.check(bot, send(1, BufferedInputFile(data + b" ", "my-data.json")))
    decision = gate.check(
        bot, SendDocument(chat_id=1, document=BufferedInputFile(data, "my-data.json"), protect_content=True)
    )
    assert decision.origins == (ORIGIN,)
    with pytest.raises(GateRefused, match="not rendered"):  # single use
        gate.check(bot, send(1, BufferedInputFile(data, "my-data.json")))


def test_a_mini_app_button_shows_its_url_which_must_be_issued(bot: Bot) -> None:
    """A Mini App button opens its URL: the URL counts as displayed content (a secure link issued for this
    chat), and WebAppInfo may carry nothing else."""
    markup = button_markup(web_app=WebAppInfo(url="https://forms.example/forms/abc"))
    assert inspect_call(bot, SendMessage(chat_id=1, text="t", reply_markup=markup)).texts == (
        "t",
        "Back",
        "https://forms.example/forms/abc",
    )
    ledger = RenderLedger(FakeClock())
    gate = OutboundGate(ledger)
    for text in ("t", "Back"):
        ledger.issue(1, text, ORIGIN)
    with pytest.raises(GateRefused, match="not rendered from the catalog"):
        gate.check(bot, SendMessage(chat_id=1, text="t", reply_markup=markup))
