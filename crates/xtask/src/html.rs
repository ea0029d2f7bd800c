//! The documentation of botocore models (a small subset of HTML) as the plain text of help pages: paragraphs
//! separated by blank lines, list items starting with `* `, inline markup dropped and whitespace collapsed.

/// Tags that end a paragraph; every other tag is inline markup and dropped.
const BLOCKS: &[&str] =
    &["p", "li", "ul", "ol", "note", "important", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "br", "div", "pre"];

/// The plain text of `html`.
pub(crate) fn to_text(html: &str) -> String {
    let mut text = Text::default();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        text.words(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            rest = &rest[start..];
            break;
        };
        let tag = &rest[start + 1..start + end];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if BLOCKS.contains(&name.as_str()) {
            text.end_paragraph();
            if name == "li" && !closing {
                text.bullet = true;
            }
        }
        rest = &rest[start + end + 1..];
    }
    text.words(rest);
    text.end_paragraph();
    text.paragraphs.join("\n\n")
}

#[derive(Default)]
struct Text {
    paragraphs: Vec<String>,
    current: String,
    /// The next paragraph is the first of a list item.
    bullet: bool,
}

impl Text {
    fn words(&mut self, raw: &str) {
        let decoded = decode_entities(raw);
        if decoded.starts_with(char::is_whitespace) && !self.current.is_empty() && !self.current.ends_with(' ') {
            self.current.push(' ');
        }
        let words: Vec<&str> = decoded.split_whitespace().collect();
        self.current.push_str(&words.join(" "));
        if decoded.ends_with(char::is_whitespace) && !words.is_empty() {
            self.current.push(' ');
        }
    }

    fn end_paragraph(&mut self) {
        let paragraph = self.current.trim();
        if !paragraph.is_empty() {
            let prefix = if std::mem::take(&mut self.bullet) { "* " } else { "" };
            self.paragraphs.push(format!("{prefix}{paragraph}"));
        }
        self.current.clear();
    }
}

fn decode_entities(raw: &str) -> String {
    if !raw.contains('&') {
        return raw.to_owned();
    }
    raw.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}
