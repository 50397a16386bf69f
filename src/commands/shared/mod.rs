//! What several commands share, kept out of the command modules so that no
//! command imports another: the write ritual ([`context`]), the lock an
//! enclosing `jsafe lock` hands down ([`inherited`]), the guarded filter
//! runner ([`jq`]), and the paths a scan starts from ([`paths`]).

pub mod child;
pub mod context;
pub mod inherited;
pub mod jq;
pub mod limits;
pub mod paths;
pub mod restore;
