//! `show security resource-manager summary | group active | resource active`: the resource
//! manager's own books. XML with the element names of Junos (`resource-manager-summary-
//! information` / `active-client-count` …, `resmgr-group-active` / `resmgr-group-active-data`
//! / `resmgr-group-active-data-grp-id` …, `resmgr-resource-active` …), as Juniper's own test
//! library reads them; the text worded after those names and the output fields of the
//! Junos CLI reference ("Group ID", "Total groups", "active groups", "Resource ID", "Total
//! resources", "active resources"). Sources in docs/show-commands.md.

use core::fmt::{self, Write};

use super::model::Elem;

/// The summary's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RmSummary {
    /// ALGs (clients of the resource manager) with a live group.
    pub clients: u64,
    /// Live groups (conversations).
    pub groups: u64,
    /// Live resources (pinholes waiting, or holding the children they admitted).
    pub resources: u64,
    /// Sessions the groups hold: parents and children.
    pub sessions: u64,
}

impl RmSummary {
    /// Text.
    ///
    /// # Errors
    /// The writer's.
    pub fn text<W: Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
        writeln!(w, "Active clients: {}", self.clients)?;
        writeln!(w, "Active groups: {}", self.groups)?;
        writeln!(w, "Active resources: {}", self.resources)?;
        writeln!(w, "Active sessions: {}", self.sessions)
    }

    /// XML element.
    #[must_use]
    pub fn to_elem(&self) -> Elem {
        let mut e = Elem::new("resource-manager-summary-information");
        e.push(Elem::leaf("active-client-count", self.clients));
        e.push(Elem::leaf("active-group-count", self.groups));
        e.push(Elem::leaf("active-resource-count", self.resources));
        e.push(Elem::leaf("active-session-count", self.sessions));
        e
    }
}

/// One group (conversation) of `group active`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RmGroup {
    /// Group ID.
    pub group: u32,
    /// The ALG (`FTP ALG`).
    pub client: String,
}

/// One resource of `resource active`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RmResource {
    /// Resource ID.
    pub resource: u32,
    /// Its group.
    pub group: u32,
    /// The ALG.
    pub client: String,
}

/// `group active`: the groups, the most there can be, and how many are live.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RmGroups {
    /// The groups shown.
    pub groups: Vec<RmGroup>,
    /// The most groups there can be.
    pub total: u64,
    /// Live groups.
    pub active: u64,
}

impl RmGroups {
    /// Text.
    ///
    /// # Errors
    /// The writer's.
    pub fn text<W: Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
        for g in &self.groups {
            writeln!(w, "Group ID {}: Application - {}", g.group, g.client)?;
        }
        writeln!(
            w,
            "Total groups {}, active groups {}",
            self.total, self.active
        )
    }

    /// XML element.
    #[must_use]
    pub fn to_elem(&self) -> Elem {
        let mut e = Elem::new("resmgr-group-active");
        for g in &self.groups {
            let mut d = Elem::new("resmgr-group-active-data");
            d.push(Elem::leaf("resmgr-group-active-data-grp-id", g.group));
            d.push(Elem::leaf("resmgr-group-active-data-client", &g.client));
            e.push(d);
        }
        e.push(Elem::leaf("resmgr-group-active-total", self.total));
        e.push(Elem::leaf("resmgr-group-active-count", self.active));
        e
    }
}

/// `resource active`: the resources, the most there can be, and how many are live.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RmResources {
    /// The resources shown.
    pub resources: Vec<RmResource>,
    /// The most resources there can be.
    pub total: u64,
    /// Live resources.
    pub active: u64,
}

impl RmResources {
    /// Text.
    ///
    /// # Errors
    /// The writer's.
    pub fn text<W: Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
        for r in &self.resources {
            writeln!(
                w,
                "Resource ID {}: Group ID - {}, Application - {}",
                r.resource, r.group, r.client
            )?;
        }
        writeln!(
            w,
            "Total resources {}, active resources {}",
            self.total, self.active
        )
    }

    /// XML element.
    #[must_use]
    pub fn to_elem(&self) -> Elem {
        let mut e = Elem::new("resmgr-resource-active");
        for r in &self.resources {
            let mut d = Elem::new("resmgr-resource-active-data");
            d.push(Elem::leaf("resmgr-resource-active-data-res-id", r.resource));
            d.push(Elem::leaf("resmgr-resource-active-data-grp-id", r.group));
            d.push(Elem::leaf("resmgr-resource-active-data-client", &r.client));
            e.push(d);
        }
        e.push(Elem::leaf("resmgr-resource-active-total", self.total));
        e.push(Elem::leaf("resmgr-resource-active-count", self.active));
        e
    }
}
