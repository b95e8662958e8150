//! Streaming XML and JSON renderers of the reply tree ([`Elem`]), Junos style.
//!
//! A reply is written as a sequence of [`TreeOut`] calls: [`TreeOut::open`] a container
//! (its attributes are printed, its children are not), [`TreeOut::elem`] whole subtrees
//! (one session at a time), [`TreeOut::close`] the container, and [`TreeOut::finish`].
//! Nothing but the stack of open containers is held, so a million sessions stream out.
//!
//! XML (`| display xml`) is the CLI's RPC reply:
//!
//! ```text
//! <rpc-reply xmlns:junos="http://xml.juniper.net/junos/17.1I0/junos">
//!     <flow-session-information xmlns="http://xml.juniper.net/junos/17.1I0/junos-flow">
//!         <flow-session junos:style="brief">
//!             <session-identifier>33554433</session-identifier>
//!     …
//!     <cli>
//!         <banner></banner>
//!     </cli>
//! </rpc-reply>
//! ```
//!
//! JSON (`| display json`) follows Junos: every element is a key whose value is an array of
//! objects (consecutive siblings of one name share the array), leaf text goes in `"data"`,
//! attributes in `"attributes"`, an empty leaf is `[null]`.

use core::fmt::{self, Write};

use super::model::Elem;

/// The Junos release the XML namespaces name.
pub const JUNOS_RELEASE: &str = "17.1I0";

/// The `xmlns:junos` of `<rpc-reply>`.
#[must_use]
pub fn junos_ns() -> String {
    format!("http://xml.juniper.net/junos/{JUNOS_RELEASE}/junos")
}

/// The default namespace of a reply family (`junos-flow`).
#[must_use]
pub fn family_ns(family: &str) -> String {
    format!("http://xml.juniper.net/junos/{JUNOS_RELEASE}/{family}")
}

/// A streaming tree renderer.
pub trait TreeOut {
    /// Opens a container: its name and attributes (children of `e` are ignored).
    ///
    /// # Errors
    /// The writer's.
    fn open(&mut self, e: &Elem) -> fmt::Result;
    /// Writes a whole element.
    ///
    /// # Errors
    /// The writer's.
    fn elem(&mut self, e: &Elem) -> fmt::Result;
    /// Closes the innermost open container.
    ///
    /// # Errors
    /// The writer's.
    fn close(&mut self) -> fmt::Result;
    /// Closes what is open and ends the document.
    ///
    /// # Errors
    /// The writer's.
    fn finish(&mut self) -> fmt::Result;
}

fn escape<W: Write + ?Sized>(w: &mut W, s: &str, attr: bool) -> fmt::Result {
    for c in s.chars() {
        match c {
            '&' => w.write_str("&amp;")?,
            '<' => w.write_str("&lt;")?,
            '>' => w.write_str("&gt;")?,
            '"' if attr => w.write_str("&quot;")?,
            c => w.write_char(c)?,
        }
    }
    Ok(())
}

fn indent<W: Write + ?Sized>(w: &mut W, n: usize) -> fmt::Result {
    for _ in 0..n {
        w.write_str("    ")?;
    }
    Ok(())
}

/// The XML renderer: `<rpc-reply>` around the reply, `<cli><banner></banner></cli>` at the
/// end, four spaces per level.
pub struct XmlOut<'w> {
    w: &'w mut dyn Write,
    open: Vec<&'static str>,
    started: bool,
}

impl core::fmt::Debug for XmlOut<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XmlOut").field("open", &self.open).finish()
    }
}

impl<'w> XmlOut<'w> {
    /// A renderer writing to `w`.
    pub fn new(w: &'w mut dyn Write) -> Self {
        Self {
            w,
            open: Vec::new(),
            started: false,
        }
    }

    fn start(&mut self) -> fmt::Result {
        if !self.started {
            self.started = true;
            writeln!(self.w, "<rpc-reply xmlns:junos=\"{}\">", junos_ns())?;
        }
        Ok(())
    }

    fn tag(&mut self, e: &Elem) -> fmt::Result {
        write!(self.w, "<{}", e.name)?;
        for (k, v) in &e.attrs {
            write!(self.w, " {k}=\"")?;
            escape(self.w, v, true)?;
            self.w.write_char('"')?;
        }
        Ok(())
    }

    fn write_elem(&mut self, e: &Elem, depth: usize) -> fmt::Result {
        indent(self.w, depth)?;
        self.tag(e)?;
        if let Some(t) = &e.text {
            self.w.write_char('>')?;
            escape(self.w, t, false)?;
            return writeln!(self.w, "</{}>", e.name);
        }
        if e.children.is_empty() {
            return self.w.write_str("/>\n");
        }
        self.w.write_str(">\n")?;
        for c in &e.children {
            self.write_elem(c, depth + 1)?;
        }
        indent(self.w, depth)?;
        writeln!(self.w, "</{}>", e.name)
    }
}

impl TreeOut for XmlOut<'_> {
    fn open(&mut self, e: &Elem) -> fmt::Result {
        self.start()?;
        indent(self.w, self.open.len() + 1)?;
        self.tag(e)?;
        self.w.write_str(">\n")?;
        self.open.push(e.name);
        Ok(())
    }
    fn elem(&mut self, e: &Elem) -> fmt::Result {
        self.start()?;
        self.write_elem(e, self.open.len() + 1)
    }
    fn close(&mut self) -> fmt::Result {
        if let Some(n) = self.open.pop() {
            indent(self.w, self.open.len() + 1)?;
            writeln!(self.w, "</{n}>")?;
        }
        Ok(())
    }
    fn finish(&mut self) -> fmt::Result {
        while !self.open.is_empty() {
            self.close()?;
        }
        self.start()?;
        self.w
            .write_str("    <cli>\n        <banner></banner>\n    </cli>\n</rpc-reply>\n")
    }
}

/// One open JSON object.
#[derive(Debug, Clone, Copy)]
struct Frame {
    /// Indentation of the object's members, in levels.
    depth: usize,
    /// No member written yet.
    first: bool,
    /// The name of the array of objects being filled (consecutive same-name elements).
    run: Option<&'static str>,
}

/// The JSON renderer.
pub struct JsonOut<'w> {
    w: &'w mut dyn Write,
    stack: Vec<Frame>,
    started: bool,
}

impl core::fmt::Debug for JsonOut<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonOut")
            .field("depth", &self.stack.len())
            .finish()
    }
}

fn json_str<W: Write + ?Sized>(w: &mut W, s: &str) -> fmt::Result {
    w.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => w.write_str("\\\"")?,
            '\\' => w.write_str("\\\\")?,
            '\n' => w.write_str("\\n")?,
            '\r' => w.write_str("\\r")?,
            '\t' => w.write_str("\\t")?,
            c if (c as u32) < 0x20 => write!(w, "\\u{:04x}", c as u32)?,
            c => w.write_char(c)?,
        }
    }
    w.write_char('"')
}

impl<'w> JsonOut<'w> {
    /// A renderer writing to `w`.
    pub fn new(w: &'w mut dyn Write) -> Self {
        Self {
            w,
            stack: Vec::new(),
            started: false,
        }
    }

    fn start(&mut self) -> fmt::Result {
        if !self.started {
            self.started = true;
            self.w.write_char('{')?;
            self.stack.push(Frame {
                depth: 1,
                first: true,
                run: None,
            });
        }
        Ok(())
    }

    /// Starts member `name` of the innermost object as an array element: continues the
    /// array of the previous sibling of the same name, or opens a new key. Returns the
    /// depth of the element's own object.
    fn member(&mut self, name: &'static str, null: bool) -> Result<usize, fmt::Error> {
        self.start()?;
        let top = self.stack.last_mut().ok_or(fmt::Error)?;
        let d = top.depth;
        if top.run == Some(name) && !null {
            self.w.write_char(',')?;
        } else {
            let had_run = top.run.take().is_some();
            let first = core::mem::replace(&mut top.first, false);
            if had_run {
                self.w.write_char('\n')?;
                indent(self.w, d)?;
                self.w.write_char(']')?;
            }
            if !first {
                self.w.write_char(',')?;
            }
            self.w.write_char('\n')?;
            indent(self.w, d)?;
            json_str(self.w, name)?;
            if null {
                self.w.write_str(" : [null]")?;
                return Ok(d);
            }
            self.w.write_str(" : [")?;
            if let Some(top) = self.stack.last_mut() {
                top.run = Some(name);
            }
        }
        self.w.write_char('\n')?;
        indent(self.w, d)?;
        self.w.write_char('{')?;
        Ok(d)
    }

    fn attrs(&mut self, e: &Elem, d: usize) -> fmt::Result {
        if e.attrs.is_empty() {
            return Ok(());
        }
        self.w.write_char('\n')?;
        indent(self.w, d + 1)?;
        self.w.write_str("\"attributes\" : {")?;
        for (i, (k, v)) in e.attrs.iter().enumerate() {
            if i > 0 {
                self.w.write_str(", ")?;
            }
            json_str(self.w, k)?;
            self.w.write_str(" : ")?;
            json_str(self.w, v)?;
        }
        self.w.write_char('}')
    }

    fn end_object(&mut self, f: Frame) -> fmt::Result {
        if f.run.is_some() {
            self.w.write_char('\n')?;
            indent(self.w, f.depth)?;
            self.w.write_char(']')?;
        }
        self.w.write_char('\n')?;
        indent(self.w, f.depth - 1)?;
        self.w.write_char('}')
    }

    fn write_elem(&mut self, e: &Elem) -> fmt::Result {
        let null = e.text.is_none() && e.children.is_empty() && e.attrs.is_empty();
        let d = self.member(e.name, null)?;
        if null {
            return Ok(());
        }
        self.attrs(e, d)?;
        let mut f = Frame {
            depth: d + 1,
            first: e.attrs.is_empty(),
            run: None,
        };
        if let Some(t) = &e.text {
            self.w.write_str(if f.first { "\n" } else { ",\n" })?;
            indent(self.w, d + 1)?;
            self.w.write_str("\"data\" : ")?;
            json_str(self.w, t)?;
            f.first = false;
        }
        self.stack.push(f);
        for c in &e.children {
            self.write_elem(c)?;
        }
        let f = self.stack.pop().ok_or(fmt::Error)?;
        self.end_object(f)
    }
}

impl TreeOut for JsonOut<'_> {
    fn open(&mut self, e: &Elem) -> fmt::Result {
        let d = self.member(e.name, false)?;
        self.attrs(e, d)?;
        self.stack.push(Frame {
            depth: d + 1,
            first: e.attrs.is_empty(),
            run: None,
        });
        Ok(())
    }
    fn elem(&mut self, e: &Elem) -> fmt::Result {
        self.write_elem(e)
    }
    fn close(&mut self) -> fmt::Result {
        if self.stack.len() > 1 {
            if let Some(f) = self.stack.pop() {
                self.end_object(f)?;
            }
        }
        Ok(())
    }
    fn finish(&mut self) -> fmt::Result {
        self.start()?;
        while self.stack.len() > 1 {
            self.close()?;
        }
        if let Some(f) = self.stack.pop() {
            if f.run.is_some() {
                self.w.write_char('\n')?;
                indent(self.w, f.depth)?;
                self.w.write_char(']')?;
            }
        }
        self.w.write_str("\n}\n")
    }
}

/// An error as the CLI's RPC reply carries it under `| display xml`: `<xnm:error>` (Junos
/// XML protocol, "Handle an Error or Warning in Junos XML Protocol Sessions") with the
/// offending `<token>` when there is one and the `<message>`.
///
/// # Errors
/// The writer's.
pub fn write_xnm_error(w: &mut dyn Write, token: Option<&str>, message: &str) -> fmt::Result {
    writeln!(w, "<rpc-reply xmlns:junos=\"{}\">", junos_ns())?;
    w.write_str(
        "    <xnm:error xmlns=\"http://xml.juniper.net/xnm/1.1/xnm\" xmlns:xnm=\"http://xml.juniper.net/xnm/1.1/xnm\">\n",
    )?;
    if let Some(t) = token {
        w.write_str("        <token>")?;
        escape(w, t, false)?;
        w.write_str("</token>\n")?;
    }
    w.write_str("        <message>\n        ")?;
    escape(w, message.trim_end(), false)?;
    w.write_str("\n        </message>\n    </xnm:error>\n")?;
    w.write_str("    <cli>\n        <banner></banner>\n    </cli>\n</rpc-reply>\n")
}

/// `| display xml rpc`: the request RPC of a command, as the CLI prints it (the request's
/// arguments indented four levels, as Junos does).
///
/// # Errors
/// The writer's.
pub fn write_rpc(w: &mut dyn Write, request: &Elem) -> fmt::Result {
    writeln!(w, "<rpc-reply xmlns:junos=\"{}\">", junos_ns())?;
    w.write_str("    <rpc>\n")?;
    if request.children.is_empty() {
        writeln!(w, "        <{}/>", request.name)?;
    } else {
        writeln!(w, "        <{}>", request.name)?;
        for c in &request.children {
            w.write_str("                ")?;
            match &c.text {
                Some(t) => {
                    write!(w, "<{}>", c.name)?;
                    escape(w, t, false)?;
                    writeln!(w, "</{}>", c.name)?;
                }
                None => writeln!(w, "<{}/>", c.name)?,
            }
        }
        writeln!(w, "        </{}>", request.name)?;
    }
    w.write_str("    </rpc>\n    <cli>\n        <banner></banner>\n    </cli>\n</rpc-reply>\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: u32) -> Elem {
        let mut e = Elem::new("flow-session").attr("junos:style", "brief");
        e.push(Elem::leaf("session-identifier", id));
        let mut f = Elem::new("flow-information");
        f.push(Elem::leaf("direction", "In"));
        e.push(f.clone());
        e.push(f);
        e.push(Elem::new("toggle"));
        e
    }

    fn drive(out: &mut dyn TreeOut) {
        for pic in 0..2 {
            out.open(&Elem::new("flow-session-information").attr("xmlns", family_ns("junos-flow")))
                .unwrap();
            out.elem(&Elem::leaf("flow-fpc-pic-id", format!("on FPC0 PIC{pic}:")))
                .unwrap();
            for i in 0..pic + 2 {
                out.elem(&session(100 * pic + i)).unwrap();
            }
            out.elem(&Elem::leaf("displayed-session-count", pic + 2))
                .unwrap();
            out.close().unwrap();
        }
        out.finish().unwrap();
    }

    #[test]
    fn json_streams_valid_junos_shape() {
        let mut s = String::new();
        drive(&mut JsonOut::new(&mut s));
        let v: serde_json::Value = serde_json::from_str(&s).unwrap_or_else(|e| panic!("{e}\n{s}"));
        let fsi = v["flow-session-information"].as_array().unwrap();
        assert_eq!(fsi.len(), 2);
        let ids: Vec<&str> = fsi
            .iter()
            .flat_map(|x| x["flow-session"].as_array().unwrap())
            .map(|x| x["session-identifier"][0]["data"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["0", "1", "100", "101", "102"]);
        assert_eq!(
            fsi[0]["flow-session"][0]["attributes"]["junos:style"],
            "brief"
        );
        assert_eq!(
            fsi[0]["flow-session"][0]["flow-information"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert!(fsi[0]["flow-session"][0]["toggle"][0].is_null());
        assert!(s.starts_with("{\n    \"flow-session-information\" : [\n    {\n        \"attributes\" : {\"xmlns\" : "), "{s}");
        // An empty reply is still JSON.
        let mut e = String::new();
        JsonOut::new(&mut e).finish().unwrap();
        serde_json::from_str::<serde_json::Value>(&e).unwrap();
    }

    #[test]
    fn xml_streams_well_formed_rpc_reply() {
        let mut s = String::new();
        drive(&mut XmlOut::new(&mut s));
        let doc = roxmltree::Document::parse(&s).unwrap_or_else(|e| panic!("{e}\n{s}"));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "rpc-reply");
        let ids: Vec<&str> = root
            .children()
            .filter(|n| n.has_tag_name("flow-session-information"))
            .flat_map(|n| n.children().filter(|c| c.has_tag_name("flow-session")))
            .filter_map(|n| n.children().find(|c| c.has_tag_name("session-identifier")))
            .filter_map(|n| n.text())
            .collect();
        assert_eq!(ids, ["0", "1", "100", "101", "102"]);
        assert!(s.starts_with("<rpc-reply xmlns:junos=\"http://xml.juniper.net/junos/17.1I0/junos\">\n    <flow-session-information xmlns=\"http://xml.juniper.net/junos/17.1I0/junos-flow\">\n        <flow-fpc-pic-id>on FPC0 PIC0:</flow-fpc-pic-id>\n"), "{s}");
        assert!(s.ends_with("    <cli>\n        <banner></banner>\n    </cli>\n</rpc-reply>\n"));
        assert!(s.contains("            <toggle/>\n"));
    }

    #[test]
    fn xml_escapes_and_rpc_layout() {
        let mut s = String::new();
        let mut x = XmlOut::new(&mut s);
        x.elem(&Elem::leaf("a", "x<&>\"").attr("k", "\"<")).unwrap();
        x.finish().unwrap();
        assert!(
            s.contains("<a k=\"&quot;&lt;\">x&lt;&amp;&gt;\"</a>"),
            "{s}"
        );
        let mut req = Elem::new("get-flow-session-information");
        req.push(Elem::leaf("protocol", "tcp"));
        req.push(Elem::new("summary"));
        let mut r = String::new();
        write_rpc(&mut r, &req).unwrap();
        assert_eq!(
            r,
            "<rpc-reply xmlns:junos=\"http://xml.juniper.net/junos/17.1I0/junos\">\n    <rpc>\n        <get-flow-session-information>\n                <protocol>tcp</protocol>\n                <summary/>\n        </get-flow-session-information>\n    </rpc>\n    <cli>\n        <banner></banner>\n    </cli>\n</rpc-reply>\n"
        );
        roxmltree::Document::parse(&r).unwrap();
    }
}
