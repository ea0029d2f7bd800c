//! The AWS CLI's shorthand syntax (`KeyName1=string,KeyName2=string`, `uri=…,fallbackResult=DENY`,
//! `s3={bucketName=b}`, `key=[a,b]`, quoted values with commas), ported from `awscli/shorthand.py` so that the same
//! words parse to the same values and fail with the same messages.

use serde_json::{Map, Value};

/// Lists and structures nested deeper than this are refused (the AWS CLI's Python parser fails on deep nesting
/// too, with a recursion error); no model shape comes close, and the limit keeps the parser's recursion bounded.
pub(crate) const MAX_DEPTH: usize = 128;

/// A shorthand value that does not parse.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ShorthandError(pub(crate) String);

/// Parses `input` to an object of strings, lists and objects (types are fitted to the model afterwards).
pub(crate) fn parse(input: &str) -> Result<Value, ShorthandError> {
    let mut parser = Parser { input, chars: input.chars().collect(), index: 0, depth: 0 };
    parser.parameter()
}

struct Parser<'a> {
    input: &'a str,
    chars: Vec<char>,
    index: usize,
    /// Lists and structures open at the current position.
    depth: usize,
}

fn is_start_word(c: char) -> bool {
    matches!(c, '!' | '#'..='&' | '('..='+' | '-'..='<' | '>'..='Z' | '\\'..='z' | '|'..)
}

fn is_first_follow(c: char) -> bool {
    c.is_whitespace() || matches!(c, '!' | '#'..='&' | '('..='+' | '-'..='\\' | '^'..='|' | '~'..)
}

fn is_second_follow(c: char) -> bool {
    c.is_whitespace() || matches!(c, '!' | '#'..='&' | '('..='+' | '-'..='<' | '>'..)
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '#' | '/' | ':')
}

impl Parser<'_> {
    fn syntax_error(&self, expected: &str, actual: &str) -> ShorthandError {
        ShorthandError(format!("Expected: '{expected}', received: '{actual}' for input: {}", self.input))
    }

    fn parameter(&mut self) -> Result<Value, ShorthandError> {
        let mut params = Map::new();
        let (key, value) = self.keyval()?;
        params.insert(key, value);
        while self.index < self.chars.len() {
            self.expect(',', true)?;
            let (key, value) = self.keyval()?;
            if params.contains_key(&key) {
                return Err(ShorthandError(format!(
                    "Second instance of key \"{key}\" encountered for input: {} (this is often because there is a \
                     preceding \",\" instead of a space)",
                    self.input
                )));
            }
            params.insert(key, value);
        }
        Ok(Value::Object(params))
    }

    fn keyval(&mut self) -> Result<(String, Value), ShorthandError> {
        let key = self.key();
        self.expect('=', true)?;
        Ok((key, self.values()?))
    }

    fn key(&mut self) -> String {
        let start = self.index;
        while self.current().is_some_and(is_key_char) {
            self.index += 1;
        }
        self.chars[start..self.index].iter().collect()
    }

    fn values(&mut self) -> Result<Value, ShorthandError> {
        match self.current() {
            None => Ok(Value::String(String::new())),
            Some('[') => self.explicit_list(),
            Some('{') => self.hash_literal(),
            Some(_) => self.csv_value(),
        }
    }

    /// `foo=bar` → `"bar"`; `foo=bar,baz` → `["bar", "baz"]`; `foo=a,b=c` → `"a"` (backtracks to the comma).
    fn csv_value(&mut self) -> Result<Value, ShorthandError> {
        let first = self.first_value()?;
        self.consume_whitespace();
        if self.current() != Some(',') {
            return Ok(Value::String(first));
        }
        self.expect(',', true)?;
        let mut list = vec![Value::String(first)];
        loop {
            match self.second_value_then_comma() {
                Ok((value, more)) => {
                    list.push(Value::String(value));
                    if !more {
                        break;
                    }
                }
                Err(err) => {
                    if self.at_eof() {
                        return Err(err);
                    }
                    self.backtrack_to(',');
                    break;
                }
            }
        }
        if list.len() == 1 {
            return Ok(list.swap_remove(0));
        }
        Ok(Value::Array(list))
    }

    /// One more value of a comma-separated list, and whether a comma follows it.
    fn second_value_then_comma(&mut self) -> Result<(String, bool), ShorthandError> {
        let value = self.second_value()?;
        self.consume_whitespace();
        if self.at_eof() {
            return Ok((value, false));
        }
        self.expect(',', true)?;
        Ok((value, true))
    }

    /// Runs `nested` one level deeper, refusing nesting past [`MAX_DEPTH`].
    fn nested(&mut self, nested: fn(&mut Self) -> Result<Value, ShorthandError>) -> Result<Value, ShorthandError> {
        if self.depth >= MAX_DEPTH {
            return Err(ShorthandError(format!(
                "Lists and structures are nested deeper than {MAX_DEPTH} levels for input: {}",
                self.input
            )));
        }
        self.depth += 1;
        let value = nested(self);
        self.depth -= 1;
        value
    }

    fn explicit_list(&mut self) -> Result<Value, ShorthandError> {
        self.nested(Self::list_body)
    }

    fn list_body(&mut self) -> Result<Value, ShorthandError> {
        self.expect('[', true)?;
        let mut values = Vec::new();
        while self.current() != Some(']') {
            values.push(self.explicit_values()?);
            self.consume_whitespace();
            if self.current() != Some(']') {
                self.expect(',', false)?;
                self.consume_whitespace();
            }
        }
        self.expect(']', false)?;
        Ok(Value::Array(values))
    }

    fn explicit_values(&mut self) -> Result<Value, ShorthandError> {
        match self.current() {
            Some('[') => self.explicit_list(),
            Some('{') => self.hash_literal(),
            _ => Ok(Value::String(self.first_value()?)),
        }
    }

    fn hash_literal(&mut self) -> Result<Value, ShorthandError> {
        self.nested(Self::hash_body)
    }

    fn hash_body(&mut self) -> Result<Value, ShorthandError> {
        self.expect('{', true)?;
        let mut map = Map::new();
        while self.current() != Some('}') {
            let key = self.key();
            self.expect('=', true)?;
            let value = self.explicit_values()?;
            self.consume_whitespace();
            if self.current() != Some('}') {
                self.expect(',', false)?;
                self.consume_whitespace();
            }
            map.insert(key, value);
        }
        self.expect('}', false)?;
        Ok(Value::Object(map))
    }

    fn first_value(&mut self) -> Result<String, ShorthandError> {
        match self.current() {
            Some('\'') => self.quoted('\'', "singled quoted"),
            Some('"') => self.quoted('"', "double quoted"),
            _ => Ok(self.word(is_first_follow).unwrap_or_default()),
        }
    }

    fn second_value(&mut self) -> Result<String, ShorthandError> {
        match self.current() {
            Some('\'') => self.quoted('\'', "singled quoted"),
            Some('"') => self.quoted('"', "double quoted"),
            _ => self.word(is_second_follow).ok_or_else(|| self.syntax_error("<second>", "<none>")),
        }
    }

    /// An unquoted value: a start character (or `\,`) then follow characters (or `\,`), escaped commas unescaped
    /// and trailing whitespace dropped; `None` when nothing matches.
    fn word(&mut self, follows: fn(char) -> bool) -> Option<String> {
        let start = self.index;
        let mut end = start;
        let mut first = true;
        loop {
            let c = self.chars.get(end).copied();
            if c == Some('\\') && self.chars.get(end + 1) == Some(&',') {
                end += 2;
            } else if c.is_some_and(|c| if first { is_start_word(c) } else { follows(c) }) {
                end += 1;
            } else {
                break;
            }
            first = false;
        }
        if end == start {
            return None;
        }
        self.index = end;
        let text: String = self.chars[start..end].iter().collect();
        Some(text.replace("\\,", ",").trim_end().to_owned())
    }

    /// A quoted value (`'…'` or `"…"`), in which `\q` stands for the quote and `\\` for a backslash.
    fn quoted(&mut self, quote: char, name: &str) -> Result<String, ShorthandError> {
        let start = self.index;
        let mut pos = start + 1;
        let mut end = None;
        while pos < self.chars.len() {
            let c = self.chars[pos];
            let next = self.chars.get(pos + 1).copied();
            if c == '\\' && (next == Some('\\') || next == Some(quote)) {
                pos += 2;
            } else if c == quote {
                end = Some(pos);
                break;
            } else {
                pos += 1;
            }
        }
        // As the regular expression backtracks: an unterminated scan closes at the last quote, if any.
        let end = end
            .or_else(|| (start + 1..self.chars.len()).rev().find(|&p| self.chars[p] == quote))
            .ok_or_else(|| self.syntax_error(&format!("<{name}>"), "<none>"))?;
        self.index = end + 1;
        let inner: String = self.chars[start + 1..end].iter().collect();
        Ok(inner.replace(&format!("\\{quote}"), &quote.to_string()).replace("\\\\", "\\"))
    }

    fn expect(&mut self, expected: char, consume_whitespace: bool) -> Result<(), ShorthandError> {
        if consume_whitespace {
            self.consume_whitespace();
        }
        match self.current() {
            None => return Err(self.syntax_error(&expected.to_string(), "EOF")),
            Some(actual) if actual != expected => {
                return Err(self.syntax_error(&expected.to_string(), &actual.to_string()));
            }
            Some(_) => self.index += 1,
        }
        if consume_whitespace {
            self.consume_whitespace();
        }
        Ok(())
    }

    fn current(&self) -> Option<char> {
        self.chars.get(self.index).copied()
    }

    fn at_eof(&self) -> bool {
        self.index >= self.chars.len()
    }

    fn backtrack_to(&mut self, c: char) {
        while self.index > 0 && self.chars.get(self.index) != Some(&c) {
            self.index -= 1;
        }
    }

    fn consume_whitespace(&mut self) {
        while self.current().is_some_and(char::is_whitespace) {
            self.index += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ok(input: &str) -> Value {
        parse(input).unwrap_or_else(|e| panic!("{input}: {}", e.0))
    }

    fn err(input: &str) -> String {
        parse(input).unwrap_err().0
    }

    #[test]
    fn maps_of_strings() {
        assert_eq!(ok("KeyName1=string,KeyName2=string"), json!({"KeyName1": "string", "KeyName2": "string"}));
        assert_eq!(ok("a="), json!({"a": ""}));
        assert_eq!(ok("a=x=y"), json!({"a": "x=y"}));
        assert_eq!(ok("a = b , c = d"), json!({"a": "b", "c": "d"}));
    }

    #[test]
    fn the_seed_example_joined_after_its_trailing_comma() {
        assert_eq!(
            ok("msgType=user-notification,msgText=This chat room will close in 15 minutes."),
            json!({"msgType": "user-notification", "msgText": "This chat room will close in 15 minutes."})
        );
    }

    #[test]
    fn quoted_values_keep_commas() {
        assert_eq!(ok(r#"a="x,y",b=2"#), json!({"a": "x,y", "b": "2"}));
        assert_eq!(ok("a='x, y'"), json!({"a": "x, y"}));
        assert_eq!(ok(r#"a="say \"hi\"""#), json!({"a": "say \"hi\""}));
        assert_eq!(ok(r"a=x\,y"), json!({"a": "x,y"}));
        assert_eq!(
            ok("msgText=\"This chat room will close in 15 minutes.\""),
            json!({"msgText": "This chat room will close in 15 minutes."})
        );
    }

    #[test]
    fn lists_and_structures() {
        assert_eq!(ok("a=x,y,z"), json!({"a": ["x", "y", "z"]}));
        assert_eq!(ok("a=x,y,b=z"), json!({"a": ["x", "y"], "b": "z"}));
        assert_eq!(ok("a=[x,y],b=[]"), json!({"a": ["x", "y"], "b": []}));
        assert_eq!(
            ok("uri=arn:aws:lambda:us-west-2:123456789012:function:f,fallbackResult=DENY"),
            json!({"uri": "arn:aws:lambda:us-west-2:123456789012:function:f", "fallbackResult": "DENY"})
        );
        assert_eq!(ok("cloudWatchLogs={logGroupName=lg}"), json!({"cloudWatchLogs": {"logGroupName": "lg"}}));
        assert_eq!(
            ok("s3={bucketName=b, other={x=[1,2]}}"),
            json!({"s3": {"bucketName": "b", "other": {"x": ["1", "2"]}}})
        );
    }

    #[test]
    fn errors_say_what_was_expected() {
        assert_eq!(err("a"), "Expected: '=', received: 'EOF' for input: a");
        assert_eq!(err("a=b,"), "Expected: '<second>', received: '<none>' for input: a=b,");
        assert_eq!(err("a b"), "Expected: '=', received: 'b' for input: a b");
        assert_eq!(err("a={b=c"), "Expected: ',', received: 'EOF' for input: a={b=c");
        assert_eq!(err("a=[b"), "Expected: ',', received: 'EOF' for input: a=[b");
        assert_eq!(err("a=\"b"), "Expected: '<double quoted>', received: '<none>' for input: a=\"b");
        assert!(err("a=1,a=2").starts_with("Second instance of key \"a\""));
    }

    /// Found by the `cli_shorthand` fuzz target: deep nesting overflowed the stack.
    #[test]
    fn nesting_is_bounded() {
        let deep = |open: &str, close: &str, depth: usize| format!("a={}x{}", open.repeat(depth), close.repeat(depth));
        assert_eq!(ok(&deep("[", "]", MAX_DEPTH - 1))["a"].to_string().len(), 2 * (MAX_DEPTH - 1) + 3);
        assert!(ok(&deep("{b=", "}", MAX_DEPTH)).is_object());
        for too_deep in
            [deep("[", "]", MAX_DEPTH + 1), deep("{b=", "}", MAX_DEPTH + 1), format!("a={}", "[".repeat(100_000))]
        {
            assert!(err(&too_deep).starts_with("Lists and structures are nested deeper than 128 levels"));
        }
    }
}
