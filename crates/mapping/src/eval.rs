//! Renders parsed nodes: variables set by `#set`, references resolved against them and the built-in objects,
//! conditions and loops, every step and byte counted against the limits.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::expr::{Expr, Op};
use crate::parse::{Node, Part, Reference};
use crate::value::{self, measure, truthy};
use crate::{Inputs, MAX_LOOP_ITERATIONS, MAX_OUTPUT_BYTES, MAX_STEPS, MAX_WORK_BYTES, TemplateError, builtins};

pub(crate) struct Renderer<'a> {
    inputs: &'a Inputs<'a>,
    vars: HashMap<String, Value>,
    body: OnceCell<Value>,
    steps: u64,
    work: usize,
}

/// What a reference starts from.
enum Base<'v> {
    Input,
    Util,
    Value(Cow<'v, Value>),
}

/// A part's arguments, evaluated before the reference is walked.
enum Args {
    None,
    Call(Vec<Option<Value>>),
    Index(Option<Value>),
}

impl<'a> Renderer<'a> {
    pub(crate) fn new(inputs: &'a Inputs<'a>) -> Renderer<'a> {
        Renderer { inputs, vars: HashMap::new(), body: OnceCell::new(), steps: 0, work: 0 }
    }

    pub(crate) fn render(mut self, nodes: &[Node]) -> Result<String, TemplateError> {
        let mut out = String::new();
        self.write(nodes, &mut out, MAX_OUTPUT_BYTES)?;
        Ok(out)
    }

    fn step(&mut self) -> Result<(), TemplateError> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(TemplateError::Limit(format!("a rendering takes at most {MAX_STEPS} steps")));
        }
        Ok(())
    }

    fn charge(&mut self, bytes: usize) -> Result<(), TemplateError> {
        self.work += bytes;
        if self.work > MAX_WORK_BYTES {
            return Err(TemplateError::Limit(format!("a rendering creates at most {MAX_WORK_BYTES} bytes of values")));
        }
        Ok(())
    }

    /// Measures a value the rendering created and charges it.
    fn created(&mut self, value: Value) -> Result<Value, TemplateError> {
        let size = measure(&value, MAX_WORK_BYTES.saturating_sub(self.work))?;
        self.charge(size)?;
        Ok(value)
    }

    fn push(&mut self, out: &mut String, text: &str, cap: usize) -> Result<(), TemplateError> {
        if out.len() + text.len() > cap {
            return Err(TemplateError::Limit(format!("a template writes at most {cap} bytes")));
        }
        self.charge(text.len())?;
        out.push_str(text);
        Ok(())
    }

    fn write(&mut self, nodes: &[Node], out: &mut String, cap: usize) -> Result<(), TemplateError> {
        for node in nodes {
            self.step()?;
            match node {
                Node::Text(text) => self.push(out, text, cap)?,
                Node::Ref { reference, quiet, raw } => {
                    let written = match self.resolve(reference)? {
                        Some(value) if !value.is_null() => Some(value::text(&value)),
                        _ => (!quiet).then(|| raw.clone()),
                    };
                    if let Some(written) = written {
                        self.push(out, &written, cap)?;
                    }
                }
                Node::Set { name, props, value } => {
                    let value = self.eval(value)?.unwrap_or(Value::Null);
                    let target = self.vars.entry(name.clone()).or_insert_with(|| match props.is_empty() {
                        true => Value::Null,
                        false => Value::Object(Map::new()),
                    });
                    value::put(target, props, value);
                    if !props.is_empty() {
                        let limit = MAX_WORK_BYTES.saturating_sub(self.work);
                        let size = self.vars.get(name).map_or(Ok(0), |whole| measure(whole, limit))?;
                        self.charge(size)?;
                    }
                }
                Node::If { branches, otherwise } => {
                    let mut chosen = otherwise.as_deref();
                    for (condition, body) in branches {
                        if truthy(self.eval(condition)?.as_ref()) {
                            chosen = Some(body);
                            break;
                        }
                    }
                    if let Some(body) = chosen {
                        self.write(body, out, cap)?;
                    }
                }
                Node::Foreach { var, iterable, body } => self.foreach(var, iterable, body, out, cap)?,
            }
        }
        Ok(())
    }

    fn foreach(
        &mut self,
        var: &str,
        iterable: &Expr,
        body: &[Node],
        out: &mut String,
        cap: usize,
    ) -> Result<(), TemplateError> {
        let items = match self.eval(iterable)? {
            Some(Value::Array(items)) => items,
            Some(Value::Object(map)) => map.into_iter().map(|(_, v)| v).collect(),
            _ => return Ok(()),
        };
        if items.len() > MAX_LOOP_ITERATIONS {
            return Err(TemplateError::Limit(format!("a #foreach runs at most {MAX_LOOP_ITERATIONS} times")));
        }
        let saved = (self.vars.remove(var), self.vars.remove("foreach"), self.vars.remove("velocityCount"));
        let last = items.len().saturating_sub(1);
        for (i, item) in items.into_iter().enumerate() {
            self.step()?;
            self.vars.insert(var.to_owned(), item);
            let state = serde_json::json!({
                "index": i, "count": i + 1, "hasNext": i < last, "first": i == 0, "last": i == last,
            });
            self.vars.insert("foreach".to_owned(), state);
            self.vars.insert("velocityCount".to_owned(), Value::from(i + 1));
            self.write(body, out, cap)?;
        }
        for (name, value) in [(var, saved.0), ("foreach", saved.1), ("velocityCount", saved.2)] {
            match value {
                Some(value) => self.vars.insert(name.to_owned(), value),
                None => self.vars.remove(name),
            };
        }
        Ok(())
    }

    fn eval(&mut self, expr: &Expr) -> Result<Option<Value>, TemplateError> {
        self.step()?;
        Ok(match expr {
            Expr::Lit(value) => Some(self.created(value.clone())?),
            Expr::Str(nodes) => {
                let mut text = String::new();
                self.write(nodes, &mut text, MAX_OUTPUT_BYTES)?;
                Some(Value::String(text))
            }
            Expr::Ref(reference) => match self.resolve(reference)? {
                Some(value) => {
                    let owned = value.into_owned();
                    Some(self.created(owned)?)
                }
                None => None,
            },
            Expr::List(items) => {
                let mut list = Vec::with_capacity(items.len());
                for item in items {
                    list.push(self.eval(item)?.unwrap_or(Value::Null));
                }
                Some(self.created(Value::Array(list))?)
            }
            Expr::Range(from, to) => {
                let (from, to) = (self.eval(from)?, self.eval(to)?);
                let (Some(from), Some(to)) = (from.and_then(|v| v.as_i64()), to.and_then(|v| v.as_i64())) else {
                    return Ok(None);
                };
                if from.abs_diff(to) >= MAX_LOOP_ITERATIONS as u64 {
                    return Err(TemplateError::Limit(format!("a range holds at most {MAX_LOOP_ITERATIONS} numbers")));
                }
                let range: Vec<Value> = if from <= to {
                    (from..=to).map(Value::from).collect()
                } else {
                    (to..=from).rev().map(Value::from).collect()
                };
                Some(self.created(Value::Array(range))?)
            }
            Expr::Map(entries) => {
                let mut map = Map::new();
                for (key, value) in entries {
                    let key = self.eval(key)?.map(|k| value::text(&k)).unwrap_or_default();
                    let value = self.eval(value)?.unwrap_or(Value::Null);
                    map.insert(key, value);
                }
                Some(self.created(Value::Object(map))?)
            }
            Expr::Not(inner) => Some(Value::Bool(!truthy(self.eval(inner)?.as_ref()))),
            Expr::Neg(inner) => match self.eval(inner)? {
                Some(Value::Number(n)) if n.as_i64().is_some() => {
                    n.as_i64().and_then(i64::checked_neg).map(Value::from)
                }
                Some(Value::Number(n)) => n.as_f64().and_then(|f| serde_json::Number::from_f64(-f)).map(Value::Number),
                _ => None,
            },
            Expr::Bin(Op::And, a, b) => {
                Some(Value::Bool(truthy(self.eval(a)?.as_ref()) && truthy(self.eval(b)?.as_ref())))
            }
            Expr::Bin(Op::Or, a, b) => {
                Some(Value::Bool(truthy(self.eval(a)?.as_ref()) || truthy(self.eval(b)?.as_ref())))
            }
            Expr::Bin(op, a, b) => {
                let (a, b) = (self.eval(a)?, self.eval(b)?);
                value::binary(*op, a.as_ref(), b.as_ref())
            }
        })
    }

    /// A reference's value; borrowed from the variables or inputs where it can be.
    fn resolve(&mut self, reference: &Reference) -> Result<Option<Cow<'_, Value>>, TemplateError> {
        let mut args = Vec::with_capacity(reference.parts.len());
        for part in &reference.parts {
            args.push(match part {
                Part::Prop(_) => Args::None,
                Part::Call(_, exprs) => {
                    let mut values = Vec::with_capacity(exprs.len());
                    for expr in exprs {
                        values.push(self.eval(expr)?);
                    }
                    Args::Call(values)
                }
                Part::Index(expr) => Args::Index(self.eval(expr)?),
            });
        }
        let inputs = self.inputs;
        let root = reference.root.as_str();
        let mut base = match (self.vars.get(root), root) {
            (Some(value), _) => Base::Value(Cow::Borrowed(value)),
            (None, "input") => Base::Input,
            (None, "util") => Base::Util,
            (None, "context") => Base::Value(Cow::Borrowed(inputs.context)),
            (None, "stageVariables") => Base::Value(Cow::Borrowed(inputs.stage_variables)),
            (None, _) => return Ok(None),
        };
        for (part, args) in reference.parts.iter().zip(args) {
            let next = match (base, part, args) {
                (Base::Input, Part::Prop(name), _) => {
                    let body = self.body.get_or_init(|| builtins::parse_body(inputs.body));
                    builtins::input(inputs, body, name, &[])?.map(Cow::Owned)
                }
                (Base::Input, Part::Call(name, _), Args::Call(values)) => {
                    let body = self.body.get_or_init(|| builtins::parse_body(inputs.body));
                    builtins::input(inputs, body, name, &values)?.map(Cow::Owned)
                }
                (Base::Util, Part::Call(name, _), Args::Call(values)) => builtins::util(name, &values)?.map(Cow::Owned),
                (Base::Input | Base::Util, _, _) => None,
                (Base::Value(value), Part::Prop(name), _) => child(value, name),
                (Base::Value(value), Part::Index(_), Args::Index(key)) => {
                    key.and_then(|key| value::index(&value, &key)).map(Cow::Owned)
                }
                (Base::Value(value), Part::Call(name, _), Args::Call(values)) => {
                    value::method(&value, name, &values)?.map(Cow::Owned)
                }
                (Base::Value(_), _, _) => None,
            };
            let Some(next) = next else { return Ok(None) };
            base = Base::Value(next);
        }
        Ok(match base {
            Base::Value(value) => Some(value),
            Base::Input | Base::Util => None,
        })
    }
}

/// A property of a borrowed or owned value, borrowing or taking the member rather than copying it.
fn child<'v>(value: Cow<'v, Value>, name: &str) -> Option<Cow<'v, Value>> {
    match value {
        Cow::Borrowed(Value::Object(map)) => map.get(name).map(Cow::Borrowed),
        Cow::Owned(Value::Object(mut map)) => map.remove(name).map(Cow::Owned),
        other => value::property(&other, name).map(Cow::Owned),
    }
}
