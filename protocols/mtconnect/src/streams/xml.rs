//! The XML form of streams and error documents (MTConnect 1.3 through 2.x).

use std::fmt::Write as _;
use std::sync::Arc;

use roxmltree::{Document, Node};

use super::entries::{self, Entry, EntryValue};
use super::names;
use super::{
    AgentError, Category, ComponentRef, Condition, ConditionLevel, ErrorCode, ErrorDocument,
    Header, Observation, Representation, StreamsDocument, StreamsError, UNAVAILABLE, Value,
};
use crate::time::{format_timestamp, parse_timestamp};

/// The namespace of the documents this module writes.
const STREAMS_NAMESPACE: &str = "urn:mtconnect.org:MTConnectStreams:2.0";
const ERROR_NAMESPACE: &str = "urn:mtconnect.org:MTConnectError:2.0";
/// Where undeclared extension prefixes are bound (see [`with_document`]) and where the writer
/// binds the extension prefixes it uses: agents rarely say which URN their `x:` stands for.
const EXTENSION_NAMESPACE: &str = "urn:mtconnect.org:extension:";
/// Agents configured without their extension namespaces write undeclared prefixes; at most
/// this many are bound before the document is rejected.
const MAX_UNDECLARED_PREFIXES: usize = 16;

pub(super) fn parse(body: &str) -> Result<StreamsDocument, StreamsError> {
    with_document(body, read_document)
}

/// Parses `body` and hands the document to `read`. A prefix used without declaration (an
/// agent writing `<x:ToolGroup>` without `xmlns:x`) is bound to a placeholder namespace on the
/// root element, since the document is otherwise fine and the prefix is all a reader needs.
fn with_document<T>(
    body: &str,
    read: impl Fn(&Document) -> Result<T, StreamsError>,
) -> Result<T, StreamsError> {
    let mut patched: Option<String> = None;
    for _ in 0..=MAX_UNDECLARED_PREFIXES {
        let text = patched.as_deref().unwrap_or(body);
        match Document::parse(text) {
            Ok(document) => return read(&document),
            Err(roxmltree::Error::UnknownNamespace(prefix, position)) => {
                match declare_prefix(text, &prefix) {
                    Some(declared) => patched = Some(declared),
                    None => {
                        return Err(xml_error(roxmltree::Error::UnknownNamespace(
                            prefix, position,
                        )));
                    }
                }
            }
            Err(error) => return Err(xml_error(error)),
        }
    }
    Err(StreamsError::invalid(
        format!("more than {MAX_UNDECLARED_PREFIXES} undeclared namespace prefixes"),
        "the root element",
    ))
}

fn xml_error(error: roxmltree::Error) -> StreamsError {
    let position = error.pos();
    StreamsError::Xml {
        message: error.to_string(),
        line: position.row,
        column: position.col,
    }
}

/// `text` with `xmlns:prefix` declared on its root element, or `None` without a root element.
fn declare_prefix(text: &str, prefix: &str) -> Option<String> {
    let name_end = root_name_end(text)?;
    let mut patched = String::with_capacity(text.len() + 64);
    patched.push_str(&text[..name_end]);
    let _ = write!(patched, " xmlns:{prefix}=\"{EXTENSION_NAMESPACE}{prefix}\"");
    patched.push_str(&text[name_end..]);
    Some(patched)
}

/// Byte offset just past the root element's name.
fn root_name_end(text: &str) -> Option<usize> {
    let mut at = 0;
    loop {
        let open = at + text[at..].find('<')?;
        let rest = &text[open..];
        let skip_to = if rest.starts_with("<?") {
            rest.find("?>").map(|end| end + 2)
        } else if rest.starts_with("<!--") {
            rest.find("-->").map(|end| end + 3)
        } else if rest.starts_with("<!") {
            rest.find('>').map(|end| end + 1)
        } else {
            let name_length =
                rest[1..].find(|c: char| c.is_whitespace() || c == '/' || c == '>')?;
            return Some(open + 1 + name_length);
        };
        at = open + skip_to?;
    }
}

fn read_document(document: &Document) -> Result<StreamsDocument, StreamsError> {
    let root = document.root_element();
    match root.tag_name().name() {
        "MTConnectStreams" => read_streams(root),
        "MTConnectError" => Err(StreamsError::Agent(read_error(root))),
        other => Err(StreamsError::NotStreams {
            found: format!("an XML document whose root element is <{other}>"),
        }),
    }
}

fn read_streams(root: Node) -> Result<StreamsDocument, StreamsError> {
    let header = child(root, "Header")
        .ok_or_else(|| StreamsError::invalid("no <Header> element", location(root)))?;
    let mut observations = Vec::new();
    let device_streams = child(root, "Streams")
        .into_iter()
        .flat_map(|streams| children(streams, "DeviceStream"));
    for device in device_streams {
        for component in children(device, "ComponentStream") {
            read_component_stream(root, device, component, &mut observations)?;
        }
    }
    Ok(StreamsDocument {
        header: read_header(header)?,
        observations,
    })
}

fn read_header(header: Node) -> Result<Header, StreamsError> {
    Ok(Header {
        instance_id: required_number(header, "instanceId")?,
        buffer_size: required_number(header, "bufferSize")?,
        first_sequence: required_number(header, "firstSequence")?,
        last_sequence: required_number(header, "lastSequence")?,
        next_sequence: required_number(header, "nextSequence")?,
        creation_time: header.attribute("creationTime").and_then(parse_timestamp),
        sender: header.attribute("sender").map(str::to_owned),
        version: header.attribute("version").map(str::to_owned),
    })
}

fn read_component_stream(
    root: Node,
    device: Node,
    component: Node,
    observations: &mut Vec<Observation>,
) -> Result<(), StreamsError> {
    let reference = Arc::new(ComponentRef {
        device_name: device.attribute("name").unwrap_or_default().to_owned(),
        device_uuid: device.attribute("uuid").unwrap_or_default().to_owned(),
        component: component
            .attribute("component")
            .unwrap_or_default()
            .to_owned(),
        component_id: component
            .attribute("componentId")
            .unwrap_or_default()
            .to_owned(),
        component_name: component.attribute("name").map(str::to_owned),
    });
    for container in component.children().filter(Node::is_element) {
        let Some(category) = Category::from_container(container.tag_name().name()) else {
            continue;
        };
        for element in container.children().filter(Node::is_element) {
            observations.push(read_observation(root, &reference, category, element)?);
        }
    }
    Ok(())
}

fn read_observation(
    root: Node,
    component: &Arc<ComponentRef>,
    category: Category,
    element: Node,
) -> Result<Observation, StreamsError> {
    let local = element.tag_name().name();
    let (kind, representation, value) = if category == Category::Condition {
        let level = ConditionLevel::from_element(local).ok_or_else(|| {
            StreamsError::invalid(
                format!("<{local}> is not a condition level (Normal, Warning, Fault, Unavailable)"),
                location(element),
            )
        })?;
        let kind = element.attribute("type").unwrap_or_default().to_owned();
        (
            kind,
            Representation::Value,
            Value::Condition(read_condition(level, element)),
        )
    } else {
        let (kind, representation) = names::kind_of_element(extension_prefix(root, element), local);
        (kind, representation, Value::Text(value_text(element)))
    };
    Ok(Observation {
        component: Arc::clone(component),
        data_item_id: required(element, "dataItemId")?.to_owned(),
        name: element.attribute("name").map(str::to_owned),
        sequence: required_number(element, "sequence")?,
        timestamp: required_timestamp(element, "timestamp")?,
        category,
        kind,
        sub_type: element.attribute("subType").map(str::to_owned),
        representation,
        value,
    })
}

/// The prefix of `element`'s namespace when it is an extension's rather than MTConnect's.
fn extension_prefix<'a>(root: Node<'a, '_>, element: Node<'a, '_>) -> Option<&'a str> {
    let namespace = element.tag_name().namespace()?;
    if Some(namespace) == root.tag_name().namespace() {
        return None;
    }
    element.lookup_prefix(namespace)
}

fn read_condition(level: ConditionLevel, element: Node) -> Condition {
    let attribute = |name: &str| element.attribute(name).map(str::to_owned);
    Condition {
        level,
        native_code: attribute("nativeCode"),
        native_severity: attribute("nativeSeverity"),
        qualifier: attribute("qualifier"),
        text: Some(value_text(element)).filter(|text| !text.is_empty()),
    }
}

/// The value of an observation element: its text, or its `Entry` children as data set or
/// table text.
fn value_text(element: Node) -> String {
    let entries: Vec<Entry> = children(element, "Entry").map(read_entry).collect();
    if entries.is_empty() {
        element.text().unwrap_or_default().trim().to_owned()
    } else {
        entries::format(&entries)
    }
}

fn read_entry(entry: Node) -> Entry {
    let key = entry.attribute("key").unwrap_or_default().to_owned();
    let cells: Vec<(String, String)> = children(entry, "Cell")
        .map(|cell| {
            (
                cell.attribute("key").unwrap_or_default().to_owned(),
                cell.text().unwrap_or_default().trim().to_owned(),
            )
        })
        .collect();
    let value = if !cells.is_empty() {
        EntryValue::Row(cells)
    } else if entry.attribute("removed") == Some("true") {
        EntryValue::Text(String::new())
    } else {
        EntryValue::Text(entry.text().unwrap_or_default().trim().to_owned())
    };
    Entry { key, value }
}

fn read_error(root: Node) -> ErrorDocument {
    let header = child(root, "Header");
    let number = |name: &str| {
        header
            .and_then(|header| header.attribute(name))
            .and_then(|text| text.trim().parse().ok())
    };
    let errors = root
        .descendants()
        .filter(|node| node.is_element() && node.has_attribute("errorCode"))
        .map(|node| AgentError {
            code: ErrorCode::parse(node.attribute("errorCode").unwrap_or_default()),
            message: child(node, "ErrorMessage").map_or_else(|| value_text(node), value_text),
        })
        .collect();
    ErrorDocument {
        instance_id: number("instanceId"),
        buffer_size: number("bufferSize"),
        errors,
    }
}

fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    children(node, name).next()
}

fn children<'a, 'input: 'a, 'n>(
    node: Node<'a, 'input>,
    name: &'n str,
) -> impl Iterator<Item = Node<'a, 'input>> + use<'a, 'input, 'n> {
    node.children()
        .filter(move |child| child.is_element() && child.tag_name().name() == name)
}

fn location(node: Node) -> String {
    let position = node.document().text_pos_at(node.range().start);
    format!("<{}> at line {}", node.tag_name().name(), position.row)
}

fn required<'a>(node: Node<'a, '_>, name: &str) -> Result<&'a str, StreamsError> {
    node.attribute(name).ok_or_else(|| {
        StreamsError::invalid(format!("attribute `{name}` is missing"), location(node))
    })
}

fn required_number(node: Node, name: &str) -> Result<u64, StreamsError> {
    let text = required(node, name)?;
    text.trim().parse().map_err(|_| {
        StreamsError::invalid(
            format!("attribute `{name}` = {text:?} is not an unsigned integer"),
            location(node),
        )
    })
}

fn required_timestamp(node: Node, name: &str) -> Result<i64, StreamsError> {
    let text = required(node, name)?;
    parse_timestamp(text).ok_or_else(|| {
        StreamsError::invalid(
            format!("attribute `{name}` = {text:?} is not an ISO 8601 timestamp"),
            location(node),
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Writing

pub(super) fn write(document: &StreamsDocument) -> String {
    let mut out = String::with_capacity(512 + document.observations.len() * 160);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = write!(
        out,
        "<MTConnectStreams xmlns=\"{STREAMS_NAMESPACE}\" xmlns:m=\"{STREAMS_NAMESPACE}\""
    );
    for prefix in extension_prefixes(&document.observations) {
        let _ = write!(out, " xmlns:{prefix}=\"{EXTENSION_NAMESPACE}{prefix}\"");
    }
    out.push_str(">\n");
    write_header(&mut out, &document.header);
    write_streams(&mut out, &document.observations);
    out.push_str("</MTConnectStreams>\n");
    out
}

fn extension_prefixes(observations: &[Observation]) -> Vec<&str> {
    let mut prefixes: Vec<&str> = observations
        .iter()
        .filter(|o| o.category != Category::Condition)
        .filter_map(|o| o.kind.split_once(':').map(|(prefix, _)| prefix))
        .collect();
    prefixes.sort_unstable();
    prefixes.dedup();
    prefixes
}

fn write_header(out: &mut String, header: &Header) {
    out.push_str("  <Header");
    if let Some(time) = header.creation_time {
        attribute(out, "creationTime", &format_timestamp(time));
    }
    if let Some(sender) = &header.sender {
        attribute(out, "sender", sender);
    }
    attribute(out, "instanceId", &header.instance_id.to_string());
    if let Some(version) = &header.version {
        attribute(out, "version", version);
    }
    attribute(out, "bufferSize", &header.buffer_size.to_string());
    attribute(out, "nextSequence", &header.next_sequence.to_string());
    attribute(out, "firstSequence", &header.first_sequence.to_string());
    attribute(out, "lastSequence", &header.last_sequence.to_string());
    out.push_str("/>\n");
}

fn write_streams(out: &mut String, observations: &[Observation]) {
    if observations.is_empty() {
        out.push_str("  <Streams/>\n");
        return;
    }
    out.push_str("  <Streams>\n");
    let mut open_device: Option<&str> = None;
    for group in super::grouped(observations) {
        let component = group.component;
        if open_device != Some(component.device_uuid.as_str()) {
            if open_device.is_some() {
                out.push_str("    </DeviceStream>\n");
            }
            out.push_str("    <DeviceStream");
            attribute(out, "name", &component.device_name);
            attribute(out, "uuid", &component.device_uuid);
            out.push_str(">\n");
            open_device = Some(&component.device_uuid);
        }
        write_component_stream(out, component, &group.categories);
    }
    out.push_str("    </DeviceStream>\n  </Streams>\n");
}

fn write_component_stream(
    out: &mut String,
    component: &ComponentRef,
    categories: &[(Category, Vec<&Observation>)],
) {
    out.push_str("      <ComponentStream");
    attribute(out, "component", &component.component);
    if let Some(name) = &component.component_name {
        attribute(out, "name", name);
    }
    attribute(out, "componentId", &component.component_id);
    out.push_str(">\n");
    for (category, members) in categories {
        let _ = writeln!(out, "        <{}>", category.container());
        for observation in members {
            write_observation(out, observation);
        }
        let _ = writeln!(out, "        </{}>", category.container());
    }
    out.push_str("      </ComponentStream>\n");
}

fn write_observation(out: &mut String, observation: &Observation) {
    let element = match &observation.value {
        Value::Condition(condition) => condition.level.element().to_owned(),
        Value::Text(_) => names::element_of_kind(&observation.kind, observation.representation),
    };
    let _ = write!(out, "          <{element}");
    attribute(out, "dataItemId", &observation.data_item_id);
    attribute(out, "timestamp", &format_timestamp(observation.timestamp));
    if let Some(name) = &observation.name {
        attribute(out, "name", name);
    }
    attribute(out, "sequence", &observation.sequence.to_string());
    if let Some(sub_type) = &observation.sub_type {
        attribute(out, "subType", sub_type);
    }
    match &observation.value {
        Value::Condition(condition) => write_condition_body(out, &element, observation, condition),
        Value::Text(text) => write_value_body(out, &element, observation.representation, text),
    }
}

fn write_condition_body(
    out: &mut String,
    element: &str,
    observation: &Observation,
    condition: &Condition,
) {
    attribute(out, "type", &observation.kind);
    for (name, value) in [
        ("nativeCode", &condition.native_code),
        ("nativeSeverity", &condition.native_severity),
        ("qualifier", &condition.qualifier),
    ] {
        if let Some(value) = value {
            attribute(out, name, value);
        }
    }
    match &condition.text {
        Some(text) => {
            out.push('>');
            escape_into(out, text);
            let _ = writeln!(out, "</{element}>");
        }
        None => out.push_str("/>\n"),
    }
}

fn write_value_body(out: &mut String, element: &str, representation: Representation, text: &str) {
    let structured = text != UNAVAILABLE
        && matches!(
            representation,
            Representation::DataSet | Representation::Table
        );
    if structured {
        let entries = entries::parse(text);
        attribute(out, "count", &entries.len().to_string());
        out.push('>');
        for entry in &entries {
            write_entry(out, entry);
        }
    } else {
        if representation == Representation::TimeSeries && text != UNAVAILABLE {
            attribute(
                out,
                "sampleCount",
                &text.split_whitespace().count().to_string(),
            );
        }
        out.push('>');
        escape_into(out, text);
    }
    let _ = writeln!(out, "</{element}>");
}

fn write_entry(out: &mut String, entry: &Entry) {
    out.push_str("<Entry");
    attribute(out, "key", &entry.key);
    match &entry.value {
        EntryValue::Text(text) if text.is_empty() => out.push_str(" removed=\"true\"/>"),
        EntryValue::Text(text) => {
            out.push('>');
            escape_into(out, text);
            out.push_str("</Entry>");
        }
        EntryValue::Row(cells) => {
            out.push('>');
            for (key, value) in cells {
                out.push_str("<Cell");
                attribute(out, "key", key);
                out.push('>');
                escape_into(out, value);
                out.push_str("</Cell>");
            }
            out.push_str("</Entry>");
        }
    }
}

pub(super) fn write_error(error: &ErrorDocument) -> String {
    let mut out = String::with_capacity(512);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<MTConnectError xmlns=\"{ERROR_NAMESPACE}\" xmlns:m=\"{ERROR_NAMESPACE}\">"
    );
    out.push_str("  <Header");
    if let Some(instance_id) = error.instance_id {
        attribute(&mut out, "instanceId", &instance_id.to_string());
    }
    if let Some(buffer_size) = error.buffer_size {
        attribute(&mut out, "bufferSize", &buffer_size.to_string());
    }
    out.push_str("/>\n  <Errors>\n");
    for entry in &error.errors {
        out.push_str("    <Error");
        attribute(&mut out, "errorCode", entry.code.as_str());
        out.push('>');
        escape_into(&mut out, &entry.message);
        out.push_str("</Error>\n");
    }
    out.push_str("  </Errors>\n</MTConnectError>\n");
    out
}

fn attribute(out: &mut String, name: &str, value: &str) {
    let _ = write!(out, " {name}=\"");
    escape_into(out, value);
    out.push('"');
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undeclared_prefixes_are_bound_on_the_root_element() {
        let text = "<?xml version=\"1.0\"?>\n<!-- agent --><Root a=\"1\"><x:Thing/></Root>";
        let patched = declare_prefix(text, "x").unwrap();
        assert!(
            patched.contains("<Root xmlns:x=\"urn:mtconnect.org:extension:x\" a=\"1\">"),
            "{patched}"
        );
        assert!(Document::parse(&patched).is_ok());
    }

    #[test]
    fn text_is_escaped() {
        let mut out = String::new();
        escape_into(&mut out, "a<b & \"c\"");
        assert_eq!(out, "a&lt;b &amp; &quot;c&quot;");
    }
}
