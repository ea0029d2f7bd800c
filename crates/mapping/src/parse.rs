//! Reads a template into nodes: text, references, `#set`, `#if`/`#elseif`/`#else`/`#end`, `#foreach`, comments,
//! and the whitespace a directive alone on its line takes with it.

use crate::expr::{self, Expr};
use crate::{MAX_DEPTH, TemplateError};

/// One piece of a template.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text(String),
    /// A reference written out; `raw` is its source, written when it resolves to nothing and is not quiet.
    Ref {
        reference: Reference,
        quiet: bool,
        raw: String,
    },
    /// `#set($name.prop… = value)`.
    Set {
        name: String,
        props: Vec<String>,
        value: Expr,
    },
    If {
        branches: Vec<(Expr, Vec<Node>)>,
        otherwise: Option<Vec<Node>>,
    },
    Foreach {
        var: String,
        iterable: Expr,
        body: Vec<Node>,
    },
}

/// `$root.prop.call(args)[index]…`.
#[derive(Debug, Clone)]
pub(crate) struct Reference {
    pub(crate) root: String,
    pub(crate) parts: Vec<Part>,
}

#[derive(Debug, Clone)]
pub(crate) enum Part {
    Prop(String),
    Call(String, Vec<Expr>),
    Index(Expr),
}

/// A position in the source, with the nesting depth reached so far.
pub(crate) struct Cursor<'a> {
    pub(crate) src: &'a str,
    pub(crate) pos: usize,
    pub(crate) depth: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(src: &'a str) -> Cursor<'a> {
        Cursor { src, pos: 0, depth: 0 }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    pub(crate) fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.src.as_bytes().get(self.pos + ahead).copied()
    }

    pub(crate) fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    pub(crate) fn eat(&mut self, s: &str) -> bool {
        let found = self.rest().starts_with(s);
        if found {
            self.pos += s.len();
        }
        found
    }

    pub(crate) fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    pub(crate) fn expect(&mut self, s: &str) -> Result<(), TemplateError> {
        self.skip_ws();
        if self.eat(s) { Ok(()) } else { Err(self.error(format!("expected `{s}`"))) }
    }

    /// An identifier: a letter or `_`, then letters, digits and `_`.
    pub(crate) fn ident(&mut self) -> Option<&'a str> {
        let start = self.pos;
        if !self.peek().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_') {
            return None;
        }
        while self.peek().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') {
            self.pos += 1;
        }
        Some(&self.src[start..self.pos])
    }

    pub(crate) fn error(&self, message: impl Into<String>) -> TemplateError {
        TemplateError::Syntax { at: self.pos, message: message.into() }
    }

    /// Enters one more level of nesting, refused past [`MAX_DEPTH`].
    pub(crate) fn descend(&mut self) -> Result<(), TemplateError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(TemplateError::Limit(format!("templates nest at most {MAX_DEPTH} levels deep")));
        }
        Ok(())
    }
}

/// Reads a whole template.
pub(crate) fn template(src: &str) -> Result<Vec<Node>, TemplateError> {
    let mut scanner = Scanner { c: Cursor::new(src), line_clean: true };
    let (nodes, end) = scanner.block()?;
    match end {
        End::Eof => Ok(nodes),
        _ => Err(scanner.c.error("`#end`, `#else` or `#elseif` without a directive to close")),
    }
}

/// What ended a block.
enum End {
    Eof,
    ElseIf(Expr),
    Else,
    Close,
}

struct Scanner<'a> {
    c: Cursor<'a>,
    /// Only whitespace since the start of the current line.
    line_clean: bool,
}

impl Scanner<'_> {
    fn block(&mut self) -> Result<(Vec<Node>, End), TemplateError> {
        let mut nodes = Vec::new();
        let mut text = String::new();
        loop {
            let Some(b) = self.c.peek() else {
                flush(&mut nodes, &mut text);
                return Ok((nodes, End::Eof));
            };
            match b {
                b'\\' if matches!(self.c.peek_at(1), Some(b'$' | b'#')) => {
                    text.push(char::from(self.c.peek_at(1).unwrap_or(b'$')));
                    self.c.pos += 2;
                    self.line_clean = false;
                }
                b'$' => match reference(&mut self.c)? {
                    Some((reference, quiet, raw)) => {
                        flush(&mut nodes, &mut text);
                        nodes.push(Node::Ref { reference, quiet, raw });
                        self.line_clean = false;
                    }
                    None => {
                        text.push('$');
                        self.c.pos += 1;
                        self.line_clean = false;
                    }
                },
                b'#' => {
                    if let Some(end) = self.directive(&mut nodes, &mut text)? {
                        flush(&mut nodes, &mut text);
                        return Ok((nodes, end));
                    }
                }
                _ => {
                    let ch = self.c.rest().chars().next().unwrap_or('\u{FFFD}');
                    self.c.pos += ch.len_utf8();
                    text.push(ch);
                    if ch == '\n' {
                        self.line_clean = true;
                    } else if !ch.is_whitespace() {
                        self.line_clean = false;
                    }
                }
            }
        }
    }

    /// At a `#`: a comment, a directive (its nodes pushed, or the end of the block returned), or a plain `#`.
    fn directive(&mut self, nodes: &mut Vec<Node>, text: &mut String) -> Result<Option<End>, TemplateError> {
        let start = self.c.pos;
        if self.c.eat("##") {
            match self.c.rest().find('\n') {
                Some(i) => self.c.pos += i + 1,
                None => self.c.pos = self.c.src.len(),
            }
            self.line_clean = true;
            return Ok(None);
        }
        if self.c.eat("#*") {
            let Some(i) = self.c.rest().find("*#") else {
                return Err(self.c.error("unterminated `#*` comment"));
            };
            self.c.pos += i + 2;
            return Ok(None);
        }
        self.c.pos += 1;
        let braced = self.c.eat("{");
        let name = self.c.ident().unwrap_or_default();
        if braced && !self.c.eat("}") {
            self.c.pos = start;
            return self.literal_hash(text);
        }
        let clean_before = self.line_clean;
        let known = matches!(name, "set" | "if" | "elseif" | "else" | "end" | "foreach");
        if !known {
            self.c.pos = start;
            return self.literal_hash(text);
        }
        let takes_args = matches!(name, "set" | "if" | "elseif" | "foreach");
        if takes_args {
            let before_paren = self.c.pos;
            self.c.skip_ws();
            if !self.c.eat("(") {
                self.c.pos = before_paren;
                return Err(self.c.error(format!("`#{name}` needs `(`")));
            }
        }
        let item = match name {
            "set" => {
                let (name, props, value) = expr::set_args(&mut self.c)?;
                Item::Node(Node::Set { name, props, value })
            }
            "if" | "elseif" => {
                let condition = expr::parse(&mut self.c)?;
                self.c.expect(")")?;
                if name == "if" { Item::If(condition) } else { Item::End(End::ElseIf(condition)) }
            }
            "foreach" => {
                let (var, iterable) = expr::foreach_args(&mut self.c)?;
                Item::Foreach(var, iterable)
            }
            "else" => Item::End(End::Else),
            _ => Item::End(End::Close),
        };
        self.gobble_line(clean_before, text);
        match item {
            Item::Node(node) => {
                flush(nodes, text);
                nodes.push(node);
                Ok(None)
            }
            Item::End(end) => Ok(Some(end)),
            Item::If(condition) => {
                flush(nodes, text);
                let node = self.if_chain(condition)?;
                nodes.push(node);
                Ok(None)
            }
            Item::Foreach(var, iterable) => {
                flush(nodes, text);
                self.c.descend()?;
                let (body, end) = self.block()?;
                self.c.depth -= 1;
                if !matches!(end, End::Close) {
                    return Err(self.c.error("`#foreach` without its `#end`"));
                }
                nodes.push(Node::Foreach { var, iterable, body });
                Ok(None)
            }
        }
    }

    fn if_chain(&mut self, condition: Expr) -> Result<Node, TemplateError> {
        self.c.descend()?;
        let mut branches = Vec::new();
        let mut condition = condition;
        let otherwise = loop {
            let (body, end) = self.block()?;
            branches.push((condition, body));
            match end {
                End::ElseIf(next) => condition = next,
                End::Else => {
                    let (body, end) = self.block()?;
                    if !matches!(end, End::Close) {
                        return Err(self.c.error("`#else` must be followed by `#end`"));
                    }
                    break Some(body);
                }
                End::Close => break None,
                End::Eof => return Err(self.c.error("`#if` without its `#end`")),
            }
        };
        self.c.depth -= 1;
        Ok(Node::If { branches, otherwise })
    }

    fn literal_hash(&mut self, text: &mut String) -> Result<Option<End>, TemplateError> {
        text.push('#');
        self.c.pos += 1;
        self.line_clean = false;
        Ok(None)
    }

    /// A directive alone on its line takes the line's indentation and its line break with it.
    fn gobble_line(&mut self, clean_before: bool, text: &mut String) {
        let rest = self.c.rest();
        let spaces = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        let after = &rest[spaces..];
        let line_end = if after.starts_with("\r\n") {
            Some(2)
        } else if after.starts_with('\n') {
            Some(1)
        } else {
            after.is_empty().then_some(0)
        };
        match line_end {
            Some(len) if clean_before => {
                let keep = text.trim_end_matches([' ', '\t']).len();
                text.truncate(keep);
                self.c.pos += spaces + len;
                self.line_clean = true;
            }
            _ => self.line_clean = false,
        }
    }
}

enum Item {
    Node(Node),
    If(Expr),
    Foreach(String, Expr),
    End(End),
}

fn flush(nodes: &mut Vec<Node>, text: &mut String) {
    if !text.is_empty() {
        nodes.push(Node::Text(std::mem::take(text)));
    }
}

/// A reference at `$`, or `None` (the cursor unmoved) when what follows is not one, so the `$` is text.
pub(crate) fn reference(c: &mut Cursor<'_>) -> Result<Option<(Reference, bool, String)>, TemplateError> {
    let start = c.pos;
    c.pos += 1;
    let quiet = c.eat("!");
    let braced = c.eat("{");
    let Some(root) = c.ident() else {
        c.pos = start;
        return Ok(None);
    };
    let mut reference = Reference { root: root.to_owned(), parts: Vec::new() };
    loop {
        if c.peek() == Some(b'.') && c.peek_at(1).is_some_and(|b| b.is_ascii_alphabetic() || b == b'_') {
            c.pos += 1;
            let name = c.ident().unwrap_or_default().to_owned();
            if c.peek() == Some(b'(') {
                c.pos += 1;
                let args = expr::arguments(c, ")")?;
                reference.parts.push(Part::Call(name, args));
            } else {
                reference.parts.push(Part::Prop(name));
            }
        } else if c.peek() == Some(b'[') {
            c.pos += 1;
            c.descend()?;
            let index = expr::parse(c)?;
            c.depth -= 1;
            c.expect("]")?;
            reference.parts.push(Part::Index(index));
        } else {
            break;
        }
    }
    if braced && !c.eat("}") {
        c.pos = start;
        return Ok(None);
    }
    Ok(Some((reference, quiet, c.src[start..c.pos].to_owned())))
}

/// The nodes of a double-quoted string's content, which interpolates as a template does.
pub(crate) fn interpolated(content: &str, depth: usize) -> Result<Vec<Node>, TemplateError> {
    let mut scanner = Scanner { c: Cursor { src: content, pos: 0, depth }, line_clean: false };
    scanner.c.descend()?;
    let (nodes, end) = scanner.block()?;
    match end {
        End::Eof => Ok(nodes),
        _ => Err(scanner.c.error("unbalanced directive in a string")),
    }
}
