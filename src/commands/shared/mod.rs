//! What several commands share, kept out of the command modules so that no
//! command imports another: the write ritual ([`context`]), the lock an
//! enclosing `jsafe lock` hands down ([`inherited`]), the guarded filter
//! runner ([`jq`]), and the paths a scan starts from ([`paths`]).

pub(crate) mod child;
pub(crate) mod context;
pub(crate) mod inherited;
pub(crate) mod jq;
pub(crate) mod limits;
pub(crate) mod paths;
pub(crate) mod restore;
