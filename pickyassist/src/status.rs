use std::fmt;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::SUCCESS_CODE;

/// What upstream says about the phone behind a project.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum DeviceState {
    /// `CONNECTED`: connection established.
    Connected,
    /// `TIMEOUT`: the phone's internet connection should be checked.
    Timeout,
    /// `UNPAIRED`: WhatsApp Web is not paired with the server.
    Unpaired,
    /// A value the docs do not list, kept verbatim (trimmed, at most 64 characters).
    Unknown(String),
}

impl DeviceState {
    pub fn wire_name(&self) -> &str {
        match self {
            DeviceState::Connected => "CONNECTED",
            DeviceState::Timeout => "TIMEOUT",
            DeviceState::Unpaired => "UNPAIRED",
            DeviceState::Unknown(raw) => raw,
        }
    }
}

impl From<String> for DeviceState {
    fn from(raw: String) -> Self {
        DeviceState::from(raw.as_str())
    }
}

impl From<&str> for DeviceState {
    fn from(raw: &str) -> Self {
        let trimmed = raw.trim();
        match trimmed.to_ascii_uppercase().as_str() {
            "CONNECTED" => DeviceState::Connected,
            "TIMEOUT" => DeviceState::Timeout,
            "UNPAIRED" => DeviceState::Unpaired,
            _ => DeviceState::Unknown(trimmed.chars().take(64).collect()),
        }
    }
}

impl From<DeviceState> for String {
    fn from(state: DeviceState) -> Self {
        state.wire_name().to_owned()
    }
}

impl fmt::Display for DeviceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire_name())
    }
}

/// A parsed `device-status` answer. Only `state` is required; the other fields are `None`
/// when upstream leaves them out, sends `null` or an empty string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceStatus {
    pub project_id: Option<String>,
    pub state: DeviceState,
    /// Kept as text: a phone number is an identifier, and a leading `+` or `0` must survive.
    pub connected_number: Option<String>,
    /// WhatsApp Web version.
    pub version: Option<String>,
    pub message_queue_count: Option<u64>,
    /// Upstream's clock, in the time zone of the PickyAssist profile.
    pub time: Option<DateTime<FixedOffset>>,
}

/// The two shapes a `device-status` body can take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusReply {
    Status(DeviceStatus),
    /// A numeric `status` code other than a device state, e.g. for a bad token.
    Rejected {
        code: i64,
        message: String,
    },
}

/// A parsed `device-action` answer: `{"status": 100, "message": "Success"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionOutcome {
    pub code: i64,
    pub message: String,
}

/// Why a body could not be read. Messages never quote the body (it is untrusted and unbounded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the answer is not JSON ({0})")]
    NotJson(String),
    #[error("the answer is JSON but not an object")]
    NotAnObject,
    #[error("the answer has no `{0}` field")]
    MissingField(&'static str),
    #[error("the `{field}` field is not {expected}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
}

impl StatusReply {
    /// Parses a `device-status` body. Never panics, whatever the bytes.
    pub fn parse(body: &[u8]) -> Result<Self, ParseError> {
        let object = parse_object(body)?;
        match object.get("status") {
            None | Some(Value::Null) => Err(ParseError::MissingField("status")),
            Some(value) => {
                if let Some(code) = as_code(value) {
                    if code == SUCCESS_CODE {
                        // A success code without a device state tells us nothing.
                        return Err(ParseError::WrongType {
                            field: "status",
                            expected: "a device state",
                        });
                    }
                    return Ok(StatusReply::Rejected {
                        code,
                        message: message_of(&object),
                    });
                }
                let Value::String(raw) = value else {
                    return Err(ParseError::WrongType {
                        field: "status",
                        expected: "a device state",
                    });
                };
                if raw.trim().is_empty() {
                    return Err(ParseError::MissingField("status"));
                }
                Ok(StatusReply::Status(DeviceStatus {
                    project_id: opt_text(&object, "project_id")?,
                    state: DeviceState::from(raw.as_str()),
                    connected_number: opt_text(&object, "connected_number")?,
                    version: opt_text(&object, "version")?,
                    message_queue_count: opt_count(&object, "message_queue_count")?,
                    time: opt_time(&object, "time")?,
                }))
            }
        }
    }
}

impl ActionOutcome {
    /// Parses a `device-action` body. Never panics, whatever the bytes.
    pub fn parse(body: &[u8]) -> Result<Self, ParseError> {
        let object = parse_object(body)?;
        let code = match object.get("status") {
            None | Some(Value::Null) => return Err(ParseError::MissingField("status")),
            Some(value) => as_code(value).ok_or(ParseError::WrongType {
                field: "status",
                expected: "a numeric code",
            })?,
        };
        Ok(ActionOutcome {
            code,
            message: message_of(&object),
        })
    }

    pub fn is_success(&self) -> bool {
        self.code == SUCCESS_CODE
    }
}

impl DeviceStatus {
    /// The documented wire form (with `project_id` and `connected_number` as strings, as the
    /// docs' own sample sends them). Used by the simulator.
    pub fn to_wire(&self) -> Value {
        let mut object = Map::new();
        let text = |v: &Option<String>| v.clone().map(Value::String).unwrap_or(Value::Null);
        object.insert("project_id".into(), text(&self.project_id));
        object.insert(
            "status".into(),
            Value::String(self.state.wire_name().to_owned()),
        );
        object.insert("connected_number".into(), text(&self.connected_number));
        object.insert("version".into(), text(&self.version));
        object.insert(
            "message_queue_count".into(),
            self.message_queue_count
                .map(Value::from)
                .unwrap_or(Value::Null),
        );
        object.insert(
            "time".into(),
            self.time
                .map(|t| Value::String(t.to_rfc3339()))
                .unwrap_or(Value::Null),
        );
        Value::Object(object)
    }
}

fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ParseError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ParseError::NotAnObject),
        // serde_json's messages name a line and column, never the content.
        Err(e) => Err(ParseError::NotJson(e.to_string())),
    }
}

/// A status code sent as a number (`100`) or as a string of digits (`"100"`).
fn as_code(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            let s = s.trim();
            let digits = s.strip_prefix('-').unwrap_or(s);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                s.parse().ok()
            } else {
                None
            }
        }
        _ => None,
    }
}

fn message_of(object: &Map<String, Value>) -> String {
    let message = match object.get("message") {
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    // Bounded: the message ends up on a card and in the audit log.
    message.chars().take(500).collect()
}

/// Text that may arrive as a string or a number; missing, `null` and `""` are `None`.
fn opt_text(
    object: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<String>, ParseError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            Ok((!s.is_empty()).then(|| s.chars().take(128).collect()))
        }
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(ParseError::WrongType {
            field,
            expected: "text or a number",
        }),
    }
}

/// A count that may arrive as a number or a string of digits.
fn opt_count(object: &Map<String, Value>, field: &'static str) -> Result<Option<u64>, ParseError> {
    let wrong = ParseError::WrongType {
        field,
        expected: "a whole number of zero or more",
    };
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(v) = n.as_u64() {
                Ok(Some(v))
            } else {
                // 3.0 is a count; 3.5 and -1 are not.
                match n.as_f64() {
                    Some(f) if f >= 0.0 && f.fract() == 0.0 && f <= u64::MAX as f64 => {
                        Ok(Some(f as u64))
                    }
                    _ => Err(wrong),
                }
            }
        }
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse::<u64>().map(Some).map_err(|_| wrong),
        Some(_) => Err(wrong),
    }
}

fn opt_time(
    object: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<DateTime<FixedOffset>>, ParseError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s.trim())
            .map(Some)
            .map_err(|_| ParseError::WrongType {
                field,
                expected: "an ISO 8601 date-time with a UTC offset",
            }),
        Some(_) => Err(ParseError::WrongType {
            field,
            expected: "an ISO 8601 date-time with a UTC offset",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn status(body: &str) -> DeviceStatus {
        match StatusReply::parse(body.as_bytes()) {
            Ok(StatusReply::Status(s)) => s,
            other => panic!("expected a status for {body}, got {other:?}"),
        }
    }

    #[test]
    fn parses_the_documented_sample_response() {
        let s = status(
            r#"{"project_id":"929","status":"CONNECTED","connected_number":"1341881114",
                "version":"2.2119.6","message_queue_count":0,"time":"2021-06-01T14:05:26+05:30"}"#,
        );
        assert_eq!(s.project_id.as_deref(), Some("929"));
        assert_eq!(s.state, DeviceState::Connected);
        assert_eq!(s.connected_number.as_deref(), Some("1341881114"));
        assert_eq!(s.version.as_deref(), Some("2.2119.6"));
        assert_eq!(s.message_queue_count, Some(0));
        let time = s.time.unwrap();
        assert_eq!(time.offset().local_minus_utc(), 5 * 3600 + 30 * 60);
        assert_eq!(time.to_rfc3339(), "2021-06-01T14:05:26+05:30");
    }

    #[test]
    fn accepts_numbers_where_the_table_says_numeric() {
        let s = status(
            r#"{"project_id":929,"status":"TIMEOUT","connected_number":1341881114,"message_queue_count":"17"}"#,
        );
        assert_eq!(s.project_id.as_deref(), Some("929"));
        assert_eq!(s.state, DeviceState::Timeout);
        assert_eq!(s.connected_number.as_deref(), Some("1341881114"));
        assert_eq!(s.message_queue_count, Some(17));
    }

    #[test]
    fn accepts_numbers_where_the_table_says_string() {
        let s = status(r#"{"status":"CONNECTED","version":2.2119,"message_queue_count":4.0}"#);
        assert_eq!(s.version.as_deref(), Some("2.2119"));
        assert_eq!(s.message_queue_count, Some(4));
    }

    #[test]
    fn missing_null_and_empty_optional_fields_are_none() {
        let s = status(
            r#"{"status":"UNPAIRED","connected_number":"","version":null,"message_queue_count":"","time":""}"#,
        );
        assert_eq!(s.state, DeviceState::Unpaired);
        assert_eq!(
            (
                s.project_id,
                s.connected_number,
                s.version,
                s.message_queue_count,
                s.time
            ),
            (None, None, None, None, None)
        );
    }

    #[test]
    fn states_are_case_insensitive_and_unknown_ones_are_kept() {
        assert_eq!(
            status(r#"{"status":" connected "}"#).state,
            DeviceState::Connected
        );
        assert_eq!(
            status(r#"{"status":"PAIRING"}"#).state,
            DeviceState::Unknown("PAIRING".into())
        );
    }

    #[test]
    fn a_missing_or_empty_status_is_an_error_not_a_default() {
        for body in [
            r#"{"project_id":"929"}"#,
            r#"{"status":null}"#,
            r#"{"status":"  "}"#,
        ] {
            assert_eq!(
                StatusReply::parse(body.as_bytes()),
                Err(ParseError::MissingField("status")),
                "{body}"
            );
        }
    }

    #[test]
    fn non_json_and_non_object_bodies_are_errors() {
        assert!(matches!(
            StatusReply::parse(b"<html>502 Bad Gateway</html>"),
            Err(ParseError::NotJson(_))
        ));
        assert!(matches!(
            StatusReply::parse(b""),
            Err(ParseError::NotJson(_))
        ));
        assert_eq!(StatusReply::parse(b"[1,2]"), Err(ParseError::NotAnObject));
        assert_eq!(
            StatusReply::parse(b"\"CONNECTED\""),
            Err(ParseError::NotAnObject)
        );
    }

    #[test]
    fn fields_of_the_wrong_shape_are_named_in_the_error() {
        let cases = [
            (
                r#"{"status":"CONNECTED","message_queue_count":"many"}"#,
                "message_queue_count",
            ),
            (
                r#"{"status":"CONNECTED","message_queue_count":-1}"#,
                "message_queue_count",
            ),
            (
                r#"{"status":"CONNECTED","message_queue_count":2.5}"#,
                "message_queue_count",
            ),
            (r#"{"status":"CONNECTED","time":"yesterday"}"#, "time"),
            (r#"{"status":"CONNECTED","version":{"major":2}}"#, "version"),
            (r#"{"status":["CONNECTED"]}"#, "status"),
        ];
        for (body, field) in cases {
            match StatusReply::parse(body.as_bytes()) {
                Err(ParseError::WrongType { field: f, .. }) => assert_eq!(f, field, "{body}"),
                other => panic!("{body}: expected a wrong-type error for {field}, got {other:?}"),
            }
        }
    }

    #[test]
    fn a_numeric_status_is_an_upstream_rejection_with_its_message() {
        for body in [
            r#"{"status":102,"message":"Invalid Token"}"#,
            r#"{"status":"102","message":"Invalid Token"}"#,
        ] {
            assert_eq!(
                StatusReply::parse(body.as_bytes()),
                Ok(StatusReply::Rejected {
                    code: 102,
                    message: "Invalid Token".into()
                }),
                "{body}"
            );
        }
        assert!(StatusReply::parse(br#"{"status":100}"#).is_err());
    }

    #[test]
    fn parses_the_documented_action_response_and_its_sloppy_variants() {
        let ok = ActionOutcome::parse(br#"{"status": 100, "message": "Success"}"#).unwrap();
        assert!(ok.is_success());
        assert_eq!(ok.message, "Success");
        let as_string = ActionOutcome::parse(br#"{"status":"100","message":"Success"}"#).unwrap();
        assert_eq!(as_string, ok);
        let rejected =
            ActionOutcome::parse(br#"{"status":"105","message":"Server is offline"}"#).unwrap();
        assert!(!rejected.is_success());
        assert_eq!(rejected.code, 105);
        let no_message = ActionOutcome::parse(br#"{"status":100}"#).unwrap();
        assert_eq!(no_message.message, "");
    }

    #[test]
    fn action_bodies_without_a_numeric_status_are_errors() {
        assert_eq!(
            ActionOutcome::parse(br#"{"message":"Success"}"#),
            Err(ParseError::MissingField("status"))
        );
        assert!(matches!(
            ActionOutcome::parse(br#"{"status":"Success"}"#),
            Err(ParseError::WrongType { .. })
        ));
        assert!(matches!(
            ActionOutcome::parse(b"OK"),
            Err(ParseError::NotJson(_))
        ));
    }

    #[test]
    fn the_wire_form_round_trips_through_the_parser() {
        let s = status(
            r#"{"project_id":"929","status":"CONNECTED","connected_number":"1341881114","version":"2.2119.6","message_queue_count":3,"time":"2021-06-01T14:05:26+05:30"}"#,
        );
        let again = status(&s.to_wire().to_string());
        assert_eq!(again, s);
    }

    #[test]
    fn device_state_serializes_as_its_wire_name() {
        assert_eq!(
            serde_json::to_string(&DeviceState::Timeout).unwrap(),
            "\"TIMEOUT\""
        );
        let back: DeviceState = serde_json::from_str("\"UNPAIRED\"").unwrap();
        assert_eq!(back, DeviceState::Unpaired);
    }

    proptest! {
        #[test]
        fn no_byte_string_makes_the_parsers_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = StatusReply::parse(&bytes);
            let _ = ActionOutcome::parse(&bytes);
        }

        #[test]
        fn no_json_object_makes_the_parsers_panic(
            status in prop_oneof![Just(Value::Null), any::<i64>().prop_map(Value::from), any::<f64>().prop_map(Value::from), ".{0,12}".prop_map(Value::from)],
            count in prop_oneof![Just(Value::Null), any::<i64>().prop_map(Value::from), any::<f64>().prop_map(Value::from), ".{0,12}".prop_map(Value::from)],
            time in ".{0,40}",
        ) {
            let body = serde_json::json!({"status": status, "message_queue_count": count, "time": time, "message": status});
            let bytes = body.to_string().into_bytes();
            let _ = StatusReply::parse(&bytes);
            let _ = ActionOutcome::parse(&bytes);
        }

        #[test]
        fn any_count_sent_as_a_string_parses_like_the_number(n in any::<u64>()) {
            let body = format!(r#"{{"status":"CONNECTED","message_queue_count":"{n}"}}"#);
            let parsed = StatusReply::parse(body.as_bytes()).unwrap();
            prop_assert_eq!(parsed, StatusReply::Status(DeviceStatus {
                project_id: None, state: DeviceState::Connected, connected_number: None,
                version: None, message_queue_count: Some(n), time: None,
            }));
        }
    }
}
