//! A small JSON writer for the bench report (the crate has no JSON dependency): objects are
//! built field by field, numbers that are not finite become `null`.

/// Builds one JSON object.
#[derive(Default)]
pub(crate) struct Object {
    fields: Vec<String>,
}

/// A JSON string literal (escaped by the data module's writer).
pub(crate) fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    crate::data::json::write_str(&mut out, s);
    out
}

/// A JSON number, or `null` when not finite.
pub(crate) fn number(v: f64) -> String {
    if v.is_finite() { format!("{v}") } else { "null".into() }
}

/// A JSON array of already-encoded values.
pub(crate) fn array(items: impl IntoIterator<Item = String>) -> String {
    format!("[{}]", items.into_iter().collect::<Vec<_>>().join(", "))
}

impl Object {
    /// Adds a field whose value is already encoded JSON.
    pub fn raw(mut self, key: &str, value: String) -> Self {
        self.fields.push(format!("{}: {value}", string(key)));
        self
    }

    /// Adds a string field.
    pub fn str(self, key: &str, value: &str) -> Self {
        self.raw(key, string(value))
    }

    /// Adds a number field.
    pub fn num(self, key: &str, value: f64) -> Self {
        self.raw(key, number(value))
    }

    /// Adds an integer field.
    pub fn int(self, key: &str, value: u64) -> Self {
        self.raw(key, value.to_string())
    }

    /// The encoded object.
    pub fn build(self) -> String {
        format!("{{{}}}", self.fields.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_nulls() {
        assert_eq!(string("a\"b\\c\n\u{1}"), r#""a\"b\\c\n\u0001""#);
        assert_eq!(number(f64::NAN), "null");
        assert_eq!(number(0.5), "0.5");
        let o = Object::default()
            .str("k", "v")
            .int("n", 3)
            .raw("a", array(vec!["1".into()]));
        assert_eq!(o.build(), r#"{"k": "v", "n": 3, "a": [1]}"#);
    }
}
