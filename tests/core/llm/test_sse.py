from core.llm.sse import ServerSentEvent, SSEDecoder


def events(text: str) -> list[ServerSentEvent]:
    return list(SSEDecoder().iter_events(text.splitlines()))


def test_each_blank_line_dispatches_one_data_event():
    assert events('data: {"a": 1}\n\ndata: {"a": 2}\n\n') == [
        ServerSentEvent(data='{"a": 1}'),
        ServerSentEvent(data='{"a": 2}'),
    ]


def test_multi_line_data_joins_with_newlines_and_keeps_inner_spaces():
    (event,) = events("data: first\ndata:  second\ndata:third\n\n")
    assert event.data == "first\n second\nthird"


def test_comments_and_events_without_data_dispatch_nothing():
    assert events(": keep-alive\n\n: ping\nevent: ping\n\n") == []


def test_event_and_id_fields_belong_to_the_next_event_only():
    first, second = events("event: error\nid: 7\ndata: {}\n\ndata: x\n\n")
    assert (first.event, first.id, first.is_error) == ("error", "7", True)
    assert (second.event, second.id, second.is_error) == ("", "", False)


def test_llama_cpp_error_field_is_read_as_an_error_event():
    (event,) = events('error: {"message": "slot failed"}\n\n')
    assert event.is_error
    assert event.json() == {"message": "slot failed"}


def test_done_marker_and_crlf_lines():
    decoded = list(SSEDecoder().iter_events(["data: [DONE]\r\n", "\r\n"]))
    assert decoded == [ServerSentEvent(data="[DONE]")]
    assert decoded[0].is_done


def test_last_event_without_trailing_blank_line_is_still_dispatched():
    assert [e.data for e in events("data: a\n\ndata: b")] == ["a", "b"]


def test_unknown_fields_are_ignored():
    assert [e.data for e in events("retry: 100\nfoo: bar\ndata: kept\n\n")] == ["kept"]
