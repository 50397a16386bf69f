# jq 1.8's definitions where jaq's differ or are missing. Later definitions
# shadow jaq's own; names starting with `_` are not listed by `builtins`.

def have_decnum: true;
# jq exits 5 after halt_error; jsafe's 5 means "corrupt file", so 15.
def halt_error: halt_error(15);
def have_literal_numbers: true;
def input_line_number: 0;

# Deleting follows jq exactly (see delpaths in natives.rs) and keeps order.
def del(f): delpaths([path(f)]);
def to_entries: [keys_unsorted[] as $k | {key: $k, value: .[$k]}];
def from_entries: reduce .[] as $x ({};
  . + { ($x | if type == "object" then (if has("key") then .key elif has("k") then .k
          elif has("name") then .name elif has("Name") then .Name
          elif has("K") then .K elif has("Key") then .Key else null end) else . end
        | if type == "string" then . elif type == "null" then "null" else tojson end):
        ($x | if type != "object" then null elif has("value") then .value elif has("v") then .v
          elif has("Value") then .Value elif has("V") then .V else null end) });
def with_entries(f): to_entries | map(f) | from_entries;
def pick(pathexps): . as $top
  | reduce path(pathexps) as $p (null; setpath($p; $top | getpath($p)));
def leaf_paths: paths(scalars);
def walk(f): def w: if type == "object" then map_values(w)
                    elif type == "array" then map(w) else . end | f; w;
def tostream: path(def r: (.[]? | r), .; r) as $p
  | getpath($p) | reduce path(.[]?) as $q ([$p, .]; [$p + $q]);
def fromstream(f): { x: null, e: false } as $init
  | foreach f as $i ($init;
      if .e then $init else . end
      | if $i | length == 2
        then setpath(["e"]; $i[0] | length == 0) | setpath(["x"] + $i[0]; $i[1])
        else setpath(["e"]; $i[0] | length == 1) end;
      if .e then .x else empty end);
def truncate_stream(stream): . as $n | null | stream | . as $input
  | if (.[0] | length) > $n then setpath([0]; .[0][$n:]) else empty end;

# Strings
def join($x): reduce .[] as $i (null;
    (if . == null then "" else . + $x end)
    + ($i | if . == null then "" elif type == "boolean" or type == "number" then tojson else . end)
  ) // "";
def trimstr($x): ltrimstr($x) | rtrimstr($x);
def trim: if type == "string" then _jaq_trim else error("trim input must be a string") end;
def ltrim: if type == "string" then _jaq_ltrim else error("trim input must be a string") end;
def rtrim: if type == "string" then _jaq_rtrim else error("trim input must be a string") end;
def ascii: [.] | implode;
def splits($re): splits($re; null);
def splits($re; flags): split($re; flags) | .[];
def tostring: if type == "string" then . else tojson end;
def @text: tostring;
def @json: tojson;
def abs: if type == "number" and . < 0 then - . elif type == "number" then .
  else error("\(type) (\(tojson)) has no absolute value") end;
def toarray: if type == "array" then . else [.] end;

# Generators and collections
def limit($n; f): if $n < 0 then error("limit doesn't support negative count") else _jaq_limit($n; f) end;
def skip($n; f): if $n < 0 then error("skip doesn't support negative count") else _jaq_skip($n; f) end;
def nth($n): .[$n];
def nth($n; f): if $n < 0 then error("nth doesn't support negative indices") else first(skip($n; f)) end;
def _flatten($x): reduce .[] as $i ([];
  if $i | type == "array" and $x != 0 then . + ($i | _flatten($x - 1)) else . + [$i] end);
def flatten($x): if $x < 0 then error("flatten depth must not be negative") else _flatten($x) end;
def flatten: _flatten(-1);
def IN(s): any(s == .; .);
def IN(src; s): any(src == s; .);
def INDEX(stream; idx_expr): reduce stream as $row ({}; .[$row | idx_expr | tostring] |= $row);
def INDEX(idx_expr): INDEX(.[]; idx_expr);
def JOIN($idx; idx_expr): [.[] | [., $idx[idx_expr]]];
def JOIN($idx; stream; idx_expr): stream | [., $idx[idx_expr]];
def JOIN($idx; stream; idx_expr; join_expr): stream | [., $idx[idx_expr]] | join_expr;
def ascii_downcase: if type == "string" then _jaq_ascii_downcase else error("ascii_downcase input must be a string") end;
def ascii_upcase: if type == "string" then _jaq_ascii_upcase else error("ascii_upcase input must be a string") end;

# Time: jq's messages for inputs that are not broken-down times
def _jsafe_tm: if type == "array" and length > 0 and all(.[]; type == "number")
  then . + [0, 0, 0, 0, 0, 0, 0, 0][length:8] else null end;
def mktime: if type != "array" then error("mktime requires array of 6 numbers")
  else (_jsafe_tm // error("mktime requires parsed datetime inputs")) | _jaq_mktime end;
def strftime($f): if ($f | type) != "string" then error("strftime/1 requires a string format")
  elif type == "number" then _jaq_strftime($f)
  else (_jsafe_tm // error("strftime/1 requires parsed datetime inputs")) | _jaq_strftime($f) end;
def strflocaltime($f): if ($f | type) != "string" then error("strflocaltime/1 requires a string format")
  elif type == "number" then _jaq_strflocaltime($f)
  else (_jsafe_tm // error("strflocaltime/1 requires parsed datetime inputs")) | _jaq_strflocaltime($f) end;
def todate: strftime("%Y-%m-%dT%H:%M:%SZ");
def dateadd(u; n): . + n;
def datesub(u; n): . - n;
def date: todate;
