//! The documents at the end, in one pass over the hosts (from the spill log, sorted): every
//! document sink begins, is handed each listed host in address order, and ends with the
//! count of hosts up. Memory holds one host at a time, whatever the number of results.

use super::Sink;
use super::meta::{ScanMeta, Summary};
use super::store::{HostGroup, ResultStore};
use std::io;

/// What a document says of the scan as a whole: known before its first host is written.
pub struct Doc<'a> {
    pub meta: &'a ScanMeta,
    pub summary: &'a Summary,
}

/// Ends every sink; before that, writes every document sink's document from `hosts`.
/// Returns the first error: a sink that fails is not written to again, and after a failure
/// to read the hosts no document is ended (none of them is whole).
pub fn write<'s>(
    sinks: &mut [Box<dyn Sink + 's>],
    hosts: impl Iterator<Item = io::Result<HostGroup>>,
    doc: &Doc<'_>,
) -> Option<io::Error> {
    let mut first: Option<io::Error> = None;
    let mut failed = vec![false; sinks.len()];
    let each = |sinks: &mut [Box<dyn Sink + 's>],
                failed: &mut Vec<bool>,
                first: &mut Option<io::Error>,
                f: &mut dyn FnMut(&mut Box<dyn Sink + 's>) -> io::Result<()>| {
        for (s, bad) in sinks.iter_mut().zip(failed.iter_mut()) {
            if *bad || !s.document() {
                continue;
            }
            if let Err(e) = f(s) {
                *bad = true;
                first.get_or_insert(e);
            }
        }
    };
    let any_document = sinks.iter().any(|s| s.document());
    let mut hosts_up = 0u64;
    let mut unread = false;
    if any_document {
        each(sinks, &mut failed, &mut first, &mut |s| s.begin(doc));
        for g in hosts {
            match g {
                Ok(g) if g.listed => {
                    hosts_up += u64::from(g.entry.up.is_some());
                    each(sinks, &mut failed, &mut first, &mut |s| s.host(doc, &g));
                }
                Ok(_) => {}
                Err(e) => {
                    first.get_or_insert(e);
                    unread = true;
                    break;
                }
            }
        }
    }
    for (s, bad) in sinks.iter_mut().zip(failed) {
        if bad || (unread && s.document()) {
            continue;
        }
        if let Err(e) = s.end(doc, hosts_up) {
            first.get_or_insert(e);
        }
    }
    first
}

/// A sink's whole output for the results of an in-memory store (tests, fixtures).
pub fn write_store(
    sink: Box<dyn Sink + '_>,
    store: &ResultStore,
    meta: &ScanMeta,
    summary: &Summary,
) -> io::Result<()> {
    let mut sinks = vec![sink];
    let doc = Doc { meta, summary };
    match write(&mut sinks, store.groups().map(Ok), &doc) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
