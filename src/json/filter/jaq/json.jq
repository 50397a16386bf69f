# jaq's definitions written in jq, as jaq-json-2.0.3 ships them in src/defs.jq (MIT licence,
# copyright the jaq authors, https://github.com/01mf02/jaq). build.rs splits them into a
# table at build time; a test checks that they parse to exactly the crate's definitions.
# Conversion
def totype(p; e): if p then . else fromjson | if p then . else e end end;
def tonumber : totype(isnumber ; error("cannot parse as number" ));
def toboolean: totype(isboolean; error("cannot parse as boolean"));

# Arrays
def transpose: [range([.[] | length] | max) as $i | [.[][$i]]];

# Indexing
def in(xs)    : . as $x | xs | has     ($x);
def inside(xs): . as $x | xs | contains($x);
def  index($i): indices($i)[ 0];
def rindex($i): indices($i)[-1];

# Formatting
def @json: tojson;

