//! Tokenizer and recursive-descent parser for RFC 7644 §3.4.2.2 filters.
//!
//! Precedence, loosest first: `or`, `and`, `not`, then comparisons, parentheses and value paths.

use super::{AttrPath, CompValue, CompareOp, Filter, MAX_DEPTH, MAX_TERMS};
use crate::scim::error::ScimError;
use crate::scim::schema::{
    AttrType, AttributeDef, ENTERPRISE_USER_SCHEMA, SchemaDef, USER_EXTENSIONS, USER_SCHEMA, user_attribute,
};

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Word(String),
    Str(String),
}

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::invalid_filter(detail)
}

fn tokenize(text: &str) -> Result<Vec<Token>, ScimError> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    '[' => Token::OpenBracket,
                    _ => Token::CloseBracket,
                });
            }
            '"' => {
                // A JSON string literal: find its closing quote, honouring escapes, and let serde_json decode it.
                chars.next();
                let mut end = None;
                let mut escaped = false;
                for (i, ch) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if ch == '\\' {
                        escaped = true;
                    } else if ch == '"' {
                        end = Some(i);
                        break;
                    }
                }
                let end = end.ok_or_else(|| invalid("Unterminated string in filter."))?;
                let literal = &text[start..=end];
                let value: String =
                    serde_json::from_str(literal).map_err(|_| invalid("Invalid string literal in filter."))?;
                tokens.push(Token::Str(value));
            }
            _ => {
                let mut end = text.len();
                while let Some(&(i, ch)) = chars.peek() {
                    if ch.is_whitespace() || matches!(ch, '(' | ')' | '[' | ']' | '"') {
                        end = i;
                        break;
                    }
                    chars.next();
                }
                tokens.push(Token::Word(text[start..end].to_string()));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
    depth: usize,
    terms: usize,
}

/// Parses filter text.
pub(super) fn parse(text: &str) -> Result<Filter, ScimError> {
    let mut parser = Parser { tokens: tokenize(text)?, position: 0, depth: 0, terms: 0 };
    if parser.tokens.is_empty() {
        return Err(invalid("The filter is empty."));
    }
    let filter = parser.or_expr(None)?;
    if parser.position != parser.tokens.len() {
        return Err(invalid("Unexpected text after the end of the filter."));
    }
    Ok(filter)
}

/// Parses the filter of a value path: its attribute paths name sub-attributes of the complex `attribute`.
pub(super) fn parse_value_filter(text: &str, attribute: &'static AttributeDef) -> Result<Filter, ScimError> {
    if attribute.ty != AttrType::Complex {
        return Err(invalid(format!("\"{}\" is not a complex attribute and takes no value filter.", attribute.name)));
    }
    let mut parser = Parser { tokens: tokenize(text)?, position: 0, depth: 1, terms: 0 };
    if parser.tokens.is_empty() {
        return Err(invalid("The value filter is empty."));
    }
    let filter = parser.or_expr(Some(attribute))?;
    if parser.position != parser.tokens.len() {
        return Err(invalid("Unexpected text after the end of the value filter."));
    }
    Ok(filter)
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.position).cloned();
        self.position += 1;
        token
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }

    fn expect(&mut self, token: Token, what: &str) -> Result<(), ScimError> {
        if self.next() == Some(token) { Ok(()) } else { Err(invalid(format!("Expected {what} in filter."))) }
    }

    fn descend(&mut self) -> Result<(), ScimError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(invalid(format!("Filters may nest at most {MAX_DEPTH} levels.")));
        }
        Ok(())
    }

    /// `context`: inside a value path, the complex attribute whose sub-attributes the paths name.
    fn or_expr(&mut self, context: Option<&'static AttributeDef>) -> Result<Filter, ScimError> {
        let mut left = self.and_expr(context)?;
        while self.peek_keyword("or") {
            self.position += 1;
            let right = self.and_expr(context)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self, context: Option<&'static AttributeDef>) -> Result<Filter, ScimError> {
        let mut left = self.not_expr(context)?;
        while self.peek_keyword("and") {
            self.position += 1;
            let right = self.not_expr(context)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not_expr(&mut self, context: Option<&'static AttributeDef>) -> Result<Filter, ScimError> {
        if self.peek_keyword("not") && self.tokens.get(self.position + 1) == Some(&Token::Open) {
            self.position += 2;
            self.descend()?;
            let inner = self.or_expr(context)?;
            self.expect(Token::Close, "\")\"")?;
            self.depth -= 1;
            return Ok(Filter::Not(Box::new(inner)));
        }
        self.primary(context)
    }

    fn primary(&mut self, context: Option<&'static AttributeDef>) -> Result<Filter, ScimError> {
        match self.next() {
            Some(Token::Open) => {
                self.descend()?;
                let inner = self.or_expr(context)?;
                self.expect(Token::Close, "\")\"")?;
                self.depth -= 1;
                Ok(inner)
            }
            Some(Token::Word(word)) => self.attribute_expression(&word, context),
            _ => Err(invalid("Expected an attribute path or \"(\" in filter.")),
        }
    }

    fn attribute_expression(
        &mut self,
        word: &str,
        context: Option<&'static AttributeDef>,
    ) -> Result<Filter, ScimError> {
        let (path, def) = resolve(word, context)?;
        if self.peek() == Some(&Token::OpenBracket) {
            if context.is_some() {
                return Err(invalid("Value filters cannot be nested."));
            }
            if def.ty != AttrType::Complex || path.sub_attribute.is_some() {
                return Err(invalid(format!("\"{path}\" is not a complex attribute and takes no value filter.")));
            }
            self.position += 1;
            self.descend()?;
            let inner = self.or_expr(Some(def))?;
            self.expect(Token::CloseBracket, "\"]\"")?;
            self.depth -= 1;
            return Ok(Filter::ValuePath { path, filter: Box::new(inner) });
        }
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(invalid(format!("Filters may have at most {MAX_TERMS} comparisons.")));
        }
        let operator = match self.next() {
            Some(Token::Word(op)) => op,
            _ => return Err(invalid(format!("Expected an operator after \"{word}\"."))),
        };
        if operator.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let op = CompareOp::parse(&operator).ok_or_else(|| invalid(format!("Unknown operator \"{operator}\".")))?;
        let value = match self.next() {
            Some(Token::Str(s)) => CompValue::String(s),
            Some(Token::Word(w)) if w == "true" => CompValue::Bool(true),
            Some(Token::Word(w)) if w == "false" => CompValue::Bool(false),
            Some(Token::Word(w)) if w == "null" => CompValue::Null,
            Some(Token::Word(w)) => match serde_json::from_str::<serde_json::Value>(&w) {
                Ok(serde_json::Value::Number(n)) => CompValue::Number(n),
                _ => return Err(invalid(format!("\"{w}\" is not a valid comparison value."))),
            },
            _ => return Err(invalid(format!("Expected a value after \"{word} {operator}\"."))),
        };
        check_operand(&path, def, op, &value)?;
        Ok(Filter::Compare { path, op, value })
    }
}

/// The definition the comparison applies to: the attribute, its sub-attribute, or for a multi-valued complex
/// attribute without a sub-attribute, its `value`.
pub(super) fn target_def(def: &'static AttributeDef, sub: Option<&str>) -> Option<&'static AttributeDef> {
    match sub {
        Some(s) => def.sub_attribute(s),
        None if def.ty == AttrType::Complex => def.sub_attribute("value"),
        None => Some(def),
    }
}

fn check_operand(
    path: &AttrPath,
    def: &'static AttributeDef,
    op: CompareOp,
    value: &CompValue,
) -> Result<(), ScimError> {
    let target = target_def(def, path.sub_attribute)
        .ok_or_else(|| invalid(format!("\"{path}\" is complex: compare one of its sub-attributes.")))?;
    let fits = match (target.ty, value) {
        (_, CompValue::Null) => matches!(op, CompareOp::Eq | CompareOp::Ne),
        (AttrType::Boolean, CompValue::Bool(_)) => matches!(op, CompareOp::Eq | CompareOp::Ne),
        (AttrType::Binary, CompValue::String(_)) => matches!(op, CompareOp::Eq | CompareOp::Ne),
        (AttrType::String | AttrType::Reference, CompValue::String(_)) => true,
        (AttrType::DateTime, CompValue::String(s)) => {
            if crate::time::parse_datetime(s).is_none() {
                return Err(invalid(format!("\"{s}\" is not an xsd:dateTime (compare with \"{path}\").")));
            }
            !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
        }
        (AttrType::Integer | AttrType::Decimal, CompValue::Number(_)) => {
            !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
        }
        _ => false,
    };
    if fits {
        Ok(())
    } else {
        Err(invalid(format!(
            "Operator \"{}\" with {value} does not apply to \"{path}\" ({:?}).",
            op.as_str(),
            target.ty
        )))
    }
}

/// Resolves an attribute path (absolute, or relative to `context` inside a value filter).
pub(super) fn resolve(
    word: &str,
    context: Option<&'static AttributeDef>,
) -> Result<(AttrPath, &'static AttributeDef), ScimError> {
    let unknown = || invalid(format!("Unknown attribute \"{word}\" in filter."));
    if let Some(outer) = context {
        let sub = outer.sub_attribute(word).ok_or_else(unknown)?;
        return Ok((AttrPath { extension: None, attribute: sub.name, sub_attribute: None }, sub));
    }
    let (extension, rest) = split_schema(word).ok_or_else(unknown)?;
    let (name, sub) = match rest.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (rest, None),
    };
    // An unqualified name that is not a core attribute names the Enterprise User attribute of that name: Microsoft
    // Entra ID filters `manager eq "<id>"` (no core attribute has an enterprise attribute's name).
    let (extension, def) = match extension {
        Some(ext) => (Some(ext), ext.attribute(name).ok_or_else(unknown)?),
        None => match user_attribute(name) {
            Some(def) => (None, def),
            None => {
                let enterprise = USER_EXTENSIONS.iter().find(|e| e.id == ENTERPRISE_USER_SCHEMA).ok_or_else(unknown)?;
                (Some(*enterprise), enterprise.attribute(name).ok_or_else(unknown)?)
            }
        },
    };
    let sub_attribute = match sub {
        Some(s) => Some(def.sub_attribute(s).ok_or_else(unknown)?.name),
        None => None,
    };
    Ok((AttrPath { extension: extension.map(|e| e.id), attribute: def.name, sub_attribute }, def))
}

/// Splits an optional schema URN prefix off an attribute path.
fn split_schema(word: &str) -> Option<(Option<&'static SchemaDef>, &str)> {
    let strip = |urn: &str| -> Option<&str> {
        let head = word.get(..urn.len())?;
        if !head.eq_ignore_ascii_case(urn) {
            return None;
        }
        word[urn.len()..].strip_prefix(':')
    };
    if let Some(rest) = strip(USER_SCHEMA) {
        return Some((None, rest));
    }
    for ext in USER_EXTENSIONS {
        if let Some(rest) = strip(ext.id) {
            return Some((Some(*ext), rest));
        }
    }
    if word.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
        return None;
    }
    Some((None, word))
}
