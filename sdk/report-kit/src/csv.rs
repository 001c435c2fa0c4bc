//! CSV as RFC 4180 defines it: records end with CRLF, and a field containing a comma, a double
//! quote, CR or LF is enclosed in double quotes with its double quotes doubled. Spreadsheets and
//! `pandas` read it as is.
//!
//! ```
//! use chatter_report_kit::Csv;
//!
//! let mut csv = Csv::new(["machine", "name"]);
//! csv.row(["m1", "Mill \"Big\" 3, bay 2"]);
//! assert_eq!(csv.finish(), "machine,name\r\nm1,\"Mill \"\"Big\"\" 3, bay 2\"\r\n");
//! ```

use std::borrow::Cow;

/// A CSV document being written, header first.
#[derive(Debug, Clone)]
pub struct Csv {
    text: String,
}

impl Csv {
    /// A document whose first record is `header`.
    pub fn new<I, S>(header: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut csv = Csv {
            text: String::new(),
        };
        csv.row(header);
        csv
    }

    /// Appends one record.
    pub fn row<I, S>(&mut self, fields: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for (i, field) in fields.into_iter().enumerate() {
            if i > 0 {
                self.text.push(',');
            }
            self.text.push_str(&quote(field.as_ref()));
        }
        self.text.push_str("\r\n");
    }

    /// The document so far.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The finished document.
    pub fn finish(self) -> String {
        self.text
    }
}

/// `field` as it is written in a record: as is, or quoted when it contains a comma, a double
/// quote, CR or LF.
pub fn quote(field: &str) -> Cow<'_, str> {
    if field.contains([',', '"', '\r', '\n']) {
        Cow::Owned(format!("\"{}\"", field.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_fields_are_written_as_they_are() {
        let mut csv = Csv::new(["a", "b", "c"]);
        csv.row(["1", "", "x y"]);
        assert_eq!(csv.finish(), "a,b,c\r\n1,,x y\r\n");
    }

    #[test]
    fn fields_with_separators_quotes_or_line_breaks_are_quoted() {
        assert_eq!(quote("a,b"), "\"a,b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("two\nlines"), "\"two\nlines\"");
        assert_eq!(quote("cr\r"), "\"cr\r\"");
        assert_eq!(quote("plain"), "plain");
    }

    #[test]
    fn rows_accept_owned_strings() {
        let mut csv = Csv::new(vec![String::from("n")]);
        csv.row(vec![format!("{}", 42)]);
        assert_eq!(csv.as_str(), "n\r\n42\r\n");
    }
}
