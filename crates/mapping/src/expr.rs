//! Expressions inside directives and method arguments: literals, references, operators by precedence.

use serde_json::Value;

use crate::TemplateError;
use crate::parse::{self, Cursor, Node, Reference};

#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Lit(Value),
    /// A double-quoted string with references or directives in it.
    Str(Vec<Node>),
    Ref(Reference),
    List(Vec<Expr>),
    Range(Box<Expr>, Box<Expr>),
    Map(Vec<(Expr, Expr)>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

/// `$name(.prop)* = value )` of a `#set(`.
pub(crate) fn set_args(c: &mut Cursor<'_>) -> Result<(String, Vec<String>, Expr), TemplateError> {
    c.skip_ws();
    if !c.eat("$") {
        return Err(c.error("`#set` needs a reference to set"));
    }
    c.eat("!");
    let braced = c.eat("{");
    let name = c.ident().ok_or_else(|| c.error("`#set` needs a name"))?.to_owned();
    let mut props = Vec::new();
    while c.eat(".") {
        props.push(c.ident().ok_or_else(|| c.error("expected a property name"))?.to_owned());
    }
    if braced {
        c.expect("}")?;
    }
    c.expect("=")?;
    let value = parse(c)?;
    c.expect(")")?;
    Ok((name, props, value))
}

/// `$var in iterable )` of a `#foreach(`.
pub(crate) fn foreach_args(c: &mut Cursor<'_>) -> Result<(String, Expr), TemplateError> {
    c.skip_ws();
    if !c.eat("$") {
        return Err(c.error("`#foreach` needs a loop variable"));
    }
    let braced = c.eat("{");
    let var = c.ident().ok_or_else(|| c.error("`#foreach` needs a loop variable"))?.to_owned();
    if braced {
        c.expect("}")?;
    }
    c.skip_ws();
    if !c.eat("in") {
        return Err(c.error("expected `in`"));
    }
    let iterable = parse(c)?;
    c.expect(")")?;
    Ok((var, iterable))
}

/// Comma-separated expressions up to `close` (consumed).
pub(crate) fn arguments(c: &mut Cursor<'_>, close: &str) -> Result<Vec<Expr>, TemplateError> {
    c.descend()?;
    let mut args = Vec::new();
    c.skip_ws();
    if !c.eat(close) {
        loop {
            args.push(parse(c)?);
            c.skip_ws();
            if c.eat(close) {
                break;
            }
            c.expect(",")?;
        }
    }
    c.depth -= 1;
    Ok(args)
}

/// One expression.
pub(crate) fn parse(c: &mut Cursor<'_>) -> Result<Expr, TemplateError> {
    c.descend()?;
    let expr = binary(c, 0)?;
    c.depth -= 1;
    Ok(expr)
}

/// Operator levels, loosest first: `||`, `&&`, equality, ordering, sums, products.
const LEVELS: [&[(&str, Op)]; 6] = [
    &[("||", Op::Or), ("or", Op::Or)],
    &[("&&", Op::And), ("and", Op::And)],
    &[("==", Op::Eq), ("!=", Op::Ne), ("eq", Op::Eq), ("ne", Op::Ne)],
    &[
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("<", Op::Lt),
        (">", Op::Gt),
        ("le", Op::Le),
        ("ge", Op::Ge),
        ("lt", Op::Lt),
        ("gt", Op::Gt),
    ],
    &[("+", Op::Add), ("-", Op::Sub)],
    &[("*", Op::Mul), ("/", Op::Div), ("%", Op::Rem)],
];

fn binary(c: &mut Cursor<'_>, level: usize) -> Result<Expr, TemplateError> {
    let Some(ops) = LEVELS.get(level) else { return unary(c) };
    let mut left = binary(c, level + 1)?;
    loop {
        c.skip_ws();
        let Some(op) = ops.iter().find(|(symbol, _)| operator_at(c, symbol)).map(|(symbol, op)| (symbol.len(), *op))
        else {
            return Ok(left);
        };
        c.pos += op.0;
        let right = binary(c, level + 1)?;
        left = Expr::Bin(op.1, Box::new(left), Box::new(right));
    }
}

/// Whether `symbol` is next; a word operator must end there (`or` is not the start of `order`).
fn operator_at(c: &Cursor<'_>, symbol: &str) -> bool {
    let rest = c.rest();
    if !rest.starts_with(symbol) {
        return false;
    }
    let word = symbol.as_bytes()[0].is_ascii_alphabetic();
    let next = rest.as_bytes().get(symbol.len()).copied();
    if word {
        return !next.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    }
    // `=` alone is not `==`, and `!` alone is not `!=`.
    !(symbol == "<" || symbol == ">") || next != Some(b'=')
}

fn unary(c: &mut Cursor<'_>) -> Result<Expr, TemplateError> {
    c.skip_ws();
    c.descend()?;
    let expr = if c.peek() == Some(b'!') && c.peek_at(1) != Some(b'=') {
        c.pos += 1;
        Expr::Not(Box::new(unary(c)?))
    } else if operator_at(c, "not") {
        c.pos += 3;
        Expr::Not(Box::new(unary(c)?))
    } else if c.peek() == Some(b'-') && !c.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
        c.pos += 1;
        Expr::Neg(Box::new(unary(c)?))
    } else {
        primary(c)?
    };
    c.depth -= 1;
    Ok(expr)
}

fn primary(c: &mut Cursor<'_>) -> Result<Expr, TemplateError> {
    c.skip_ws();
    match c.peek() {
        Some(b'(') => {
            c.pos += 1;
            let inner = parse(c)?;
            c.expect(")")?;
            Ok(inner)
        }
        Some(b'"') => string(c, b'"'),
        Some(b'\'') => string(c, b'\''),
        Some(b'[') => {
            c.pos += 1;
            list(c)
        }
        Some(b'{') => {
            c.pos += 1;
            map(c)
        }
        Some(b'$') => match parse::reference(c)? {
            Some((reference, _, _)) => Ok(Expr::Ref(reference)),
            None => Err(c.error("expected a reference after `$`")),
        },
        Some(b) if b.is_ascii_digit() || b == b'-' => number(c),
        _ => {
            let start = c.pos;
            match c.ident() {
                Some("true") => Ok(Expr::Lit(Value::Bool(true))),
                Some("false") => Ok(Expr::Lit(Value::Bool(false))),
                Some("null") => Ok(Expr::Lit(Value::Null)),
                _ => {
                    c.pos = start;
                    Err(c.error("expected a value"))
                }
            }
        }
    }
}

/// `'…'` is literal (`''` writes `'`); `"…"` interpolates (`""` writes `"`).
fn string(c: &mut Cursor<'_>, quote: u8) -> Result<Expr, TemplateError> {
    c.pos += 1;
    let mut content = String::new();
    loop {
        let Some(b) = c.peek() else { return Err(c.error("unterminated string")) };
        if b == quote {
            if c.peek_at(1) == Some(quote) {
                content.push(char::from(quote));
                c.pos += 2;
                continue;
            }
            c.pos += 1;
            break;
        }
        let ch = c.rest().chars().next().unwrap_or('\u{FFFD}');
        content.push(ch);
        c.pos += ch.len_utf8();
    }
    if quote == b'"' && (content.contains('$') || content.contains('#')) {
        let nodes = parse::interpolated(&content, c.depth)?;
        return Ok(Expr::Str(nodes));
    }
    Ok(Expr::Lit(Value::String(content)))
}

fn number(c: &mut Cursor<'_>) -> Result<Expr, TemplateError> {
    let start = c.pos;
    c.eat("-");
    while c.peek().is_some_and(|b| b.is_ascii_digit()) {
        c.pos += 1;
    }
    // A `.` followed by a digit makes a decimal; `1..3` is a range.
    if c.peek() == Some(b'.') && c.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
        c.pos += 1;
        while c.peek().is_some_and(|b| b.is_ascii_digit()) {
            c.pos += 1;
        }
    }
    let text = &c.src[start..c.pos];
    if let Ok(n) = text.parse::<i64>() {
        return Ok(Expr::Lit(Value::from(n)));
    }
    text.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(|n| Expr::Lit(Value::Number(n)))
        .ok_or_else(|| c.error(format!("`{text}` is not a number")))
}

/// After `[`: a list `[a, b]` or a range `[a..b]`.
fn list(c: &mut Cursor<'_>) -> Result<Expr, TemplateError> {
    c.skip_ws();
    if c.eat("]") {
        return Ok(Expr::List(Vec::new()));
    }
    c.descend()?;
    let first = parse(c)?;
    c.skip_ws();
    if c.eat("..") {
        let last = parse(c)?;
        c.expect("]")?;
        c.depth -= 1;
        return Ok(Expr::Range(Box::new(first), Box::new(last)));
    }
    let mut items = vec![first];
    while !c.eat("]") {
        c.expect(",")?;
        items.push(parse(c)?);
        c.skip_ws();
    }
    c.depth -= 1;
    Ok(Expr::List(items))
}

/// After `{`: `{key: value, …}`.
fn map(c: &mut Cursor<'_>) -> Result<Expr, TemplateError> {
    c.descend()?;
    let mut entries = Vec::new();
    c.skip_ws();
    if !c.eat("}") {
        loop {
            let key = parse(c)?;
            c.expect(":")?;
            let value = parse(c)?;
            entries.push((key, value));
            c.skip_ws();
            if c.eat("}") {
                break;
            }
            c.expect(",")?;
        }
    }
    c.depth -= 1;
    Ok(Expr::Map(entries))
}
