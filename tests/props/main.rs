//! Property tests of the library's JSON code, in process: the parser, the
//! validator, the renderer, merge and the filter's direct input agree. Their
//! failing cases are kept beside each module (`<module>.proptest-regressions`,
//! found by proptest from the module's source path).

mod generate;
mod json_props;
mod update_props;
