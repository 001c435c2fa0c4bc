//! Data set and table values as text, the way SHDR writes them: `a=1 b="two words" c=` (an
//! empty value removes the key) and, for tables, `row={cell=1 other=2}`. Streams documents carry
//! them as `Entry` (and `Cell`) elements or JSON objects; the parser turns those into this text
//! and the writers turn this text back into them.

/// One entry of a data set or table row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    pub key: String,
    pub value: EntryValue,
}

/// The value of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum EntryValue {
    /// A plain value; empty means the key was removed.
    Text(String),
    /// A table row: its cells.
    Row(Vec<(String, String)>),
}

/// `entries` as text: `key=value` pairs separated by spaces.
pub(super) fn format(entries: &[Entry]) -> String {
    let parts: Vec<String> = entries
        .iter()
        .map(|entry| match &entry.value {
            EntryValue::Text(text) => format!("{}={}", entry.key, quoted(text)),
            EntryValue::Row(cells) => {
                let cells: Vec<String> = cells
                    .iter()
                    .map(|(key, value)| format!("{key}={}", quoted(value)))
                    .collect();
                format!("{}={{{}}}", entry.key, cells.join(" "))
            }
        })
        .collect();
    parts.join(" ")
}

fn quoted(text: &str) -> String {
    let needs_quotes = text
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '{' | '}' | '='));
    if needs_quotes {
        format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        text.to_owned()
    }
}

/// The entries of `text` written by [`format`] (or by an SHDR adapter). Text that is not
/// `key=value` pairs gives entries for what parses; a bare word is a key with an empty value.
pub(super) fn parse(text: &str) -> Vec<Entry> {
    let mut cursor = Cursor {
        chars: text.chars().collect(),
        at: 0,
    };
    let mut entries = Vec::new();
    loop {
        cursor.skip_spaces();
        if cursor.peek().is_none() {
            return entries;
        }
        let Some(key) = cursor.key() else {
            // A stray `=` or `}` without a key: step over it.
            cursor.at += 1;
            continue;
        };
        let value = if cursor.eat('=') {
            if cursor.eat('{') {
                EntryValue::Row(cursor.cells())
            } else {
                EntryValue::Text(cursor.value())
            }
        } else {
            EntryValue::Text(String::new())
        };
        entries.push(Entry { key, value });
    }
}

struct Cursor {
    chars: Vec<char>,
    at: usize,
}

impl Cursor {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn eat(&mut self, wanted: char) -> bool {
        let matched = self.peek() == Some(wanted);
        if matched {
            self.at += 1;
        }
        matched
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn key(&mut self) -> Option<String> {
        self.skip_spaces();
        let start = self.at;
        while self
            .peek()
            .is_some_and(|c| !c.is_whitespace() && !matches!(c, '=' | '}'))
        {
            self.at += 1;
        }
        (self.at > start).then(|| self.chars[start..self.at].iter().collect())
    }

    fn value(&mut self) -> String {
        match self.peek() {
            Some(quote @ ('"' | '\'')) => {
                self.at += 1;
                self.quoted(quote)
            }
            _ => {
                let start = self.at;
                while self.peek().is_some_and(|c| !c.is_whitespace() && c != '}') {
                    self.at += 1;
                }
                self.chars[start..self.at].iter().collect()
            }
        }
    }

    fn quoted(&mut self, quote: char) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            self.at += 1;
            match c {
                '\\' => {
                    if let Some(escaped) = self.peek() {
                        out.push(escaped);
                        self.at += 1;
                    }
                }
                c if c == quote => break,
                c => out.push(c),
            }
        }
        out
    }

    fn cells(&mut self) -> Vec<(String, String)> {
        let mut cells = Vec::new();
        loop {
            self.skip_spaces();
            if self.eat('}') || self.peek().is_none() {
                return cells;
            }
            match self.key() {
                Some(key) => {
                    let value = if self.eat('=') {
                        self.value()
                    } else {
                        String::new()
                    };
                    cells.push((key, value));
                }
                // A stray `=` without a key: step over it rather than loop forever.
                None => self.at += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(key: &str, value: &str) -> Entry {
        Entry {
            key: key.to_owned(),
            value: EntryValue::Text(value.to_owned()),
        }
    }

    #[test]
    fn data_sets_round_trip_through_text() {
        let entries = vec![text("a", "1"), text("b", "two words"), text("c", "")];
        let written = format(&entries);
        assert_eq!(written, r#"a=1 b="two words" c="#);
        assert_eq!(parse(&written), entries);
    }

    #[test]
    fn table_rows_round_trip_through_text() {
        let entries = vec![
            Entry {
                key: "G54".to_owned(),
                value: EntryValue::Row(vec![
                    ("X".to_owned(), "1.5".to_owned()),
                    ("Y".to_owned(), "a b".to_owned()),
                ]),
            },
            text("G55", ""),
        ];
        let written = format(&entries);
        assert_eq!(written, r#"G54={X=1.5 Y="a b"} G55="#);
        assert_eq!(parse(&written), entries);
    }

    #[test]
    fn sloppy_text_gives_what_parses() {
        assert_eq!(
            parse("  lonely  = x=1"),
            vec![text("lonely", ""), text("x", "1")]
        );
    }
}
