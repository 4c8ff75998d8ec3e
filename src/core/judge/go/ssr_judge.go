// SSR's judge: is a change to a Go file behaviour-neutral? Compiled and run
// inside the validation sandbox with the image's own Go (standard library
// only), on file contents passed in as data (never built or run as part of
// the repository): a bug must change behaviour, so a bug_inject.diff whose
// changed file is the same program once parsed is no bug.
//
// Two versions are the same program when their syntax trees (go/parser, so
// comments and formatting are gone, positions left out) are equal once each
// is normalised, as the judge's py/neutral.py does for Python:
//
//  1. statements that do nothing are removed: empty statements and blocks,
//     `x = x`, `_ = EXPR` of an expression without calls or receives,
//     `if false {...}` and `for false {...}` with no else;
//
//  2. in a block, runs of simple assignments and var declarations of names
//     (no call or receive in them) are put in one canonical order that
//     respects what each reads and writes, so two independent statements
//     swapped read the same;
//
//  3. what a function declares (receiver, parameters, results, locals,
//     labels, local types) is renamed canonically, in order of first
//     appearance: callers never name a Go function's parameters.
//
//     ssrneutral < {"files": [{"path", "before", "after"}]}
//     -> {"results": [{"path", "neutral", "reasons", "error"?}]}
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"sort"
	"strings"
)

type input struct {
	Path   string `json:"path"`
	Before string `json:"before"`
	After  string `json:"after"`
}

type result struct {
	Path    string   `json:"path"`
	Neutral bool     `json:"neutral"`
	Reasons []string `json:"reasons"`
	Error   string   `json:"error,omitempty"`
}

const (
	stepNoops = 1 << iota
	stepReorder
	stepRename
	allSteps = stepNoops | stepReorder | stepRename
)

var posType = reflect.TypeOf(token.Pos(0))

// dump prints a node without positions, comments or resolved objects.
func dump(node interface{}) string {
	var buf bytes.Buffer
	skip := map[string]bool{"Obj": true, "Scope": true, "Unresolved": true, "Imports": true, "Comments": true, "Doc": true, "Comment": true}
	ast.Fprint(&buf, token.NewFileSet(), node, func(name string, v reflect.Value) bool {
		return !skip[name] && v.Type() != posType && ast.NotNilFilter(name, v)
	})
	return buf.String()
}

// normalForm parses a file and normalises it by the given steps; names maps
// each canonical name to the name it replaced.
func normalForm(src string, steps int) (string, map[string]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), "file.go", src, parser.AllErrors)
	if err != nil {
		return "", nil, err
	}
	if steps&stepNoops != 0 {
		eachBlock(f, stripNoops)
	}
	if steps&stepReorder != 0 {
		eachBlock(f, reorder)
	}
	names := map[string]string{}
	if steps&stepRename != 0 {
		names = rename(f)
	}
	return dump(f), names, nil
}

// eachBlock rewrites every statement list of the file (blocks and case bodies).
func eachBlock(f *ast.File, fix func([]ast.Stmt) []ast.Stmt) {
	ast.Inspect(f, func(n ast.Node) bool {
		switch b := n.(type) {
		case *ast.BlockStmt:
			b.List = fix(b.List)
		case *ast.CaseClause:
			b.Body = fix(b.Body)
		case *ast.CommClause:
			b.Body = fix(b.Body)
		}
		return true
	})
}

func same(before, after string, steps int) (bool, map[string]string, map[string]string) {
	b, nb, errB := normalForm(before, steps)
	a, na, errA := normalForm(after, steps)
	return errB == nil && errA == nil && a == b, nb, na
}

// why says, in words, what differs between two versions that are the same program.
func why(before, after string, nb, na map[string]string) []string {
	if ok, _, _ := same(before, after, 0); ok {
		return []string{"only comments or formatting"}
	}
	var out []string
	needed := func(s int) bool { ok, _, _ := same(before, after, allSteps&^s); return !ok }
	if needed(stepNoops) {
		out = append(out, "a statement that does nothing added or removed")
	}
	if needed(stepReorder) {
		out = append(out, "independent statements reordered")
	}
	if needed(stepRename) {
		var pairs []string
		for c, b := range nb {
			if a, ok := na[c]; ok && a != b {
				pairs = append(pairs, b+"->"+a)
			}
		}
		sort.Strings(pairs)
		out = append(out, "a consistent renaming of locals: "+strings.Join(pairs, ", "))
	}
	if len(out) == 0 {
		return []string{"only comments or formatting"}
	}
	return out
}

func compare(in input) result {
	r := result{Path: in.Path, Reasons: []string{}}
	if _, err := parser.ParseFile(token.NewFileSet(), "file.go", in.Before, parser.AllErrors); err != nil {
		r.Error = fmt.Sprintf("the original does not parse: %v", err)
		return r
	}
	equal, nb, na := same(in.Before, in.After, allSteps)
	if equal {
		r.Neutral, r.Reasons = true, why(in.Before, in.After, nb, na)
	}
	return r
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "plant" {
		var req struct {
			Files []filePlan `json:"files"`
		}
		decode(&req)
		json.NewEncoder(os.Stdout).Encode(plant(req.Files))
		return
	}
	var req struct {
		Files []input `json:"files"`
	}
	decode(&req)
	out := struct {
		Results []result `json:"results"`
	}{Results: []result{}}
	for _, f := range req.Files {
		out.Results = append(out.Results, compare(f))
	}
	json.NewEncoder(os.Stdout).Encode(out)
}

func decode(v interface{}) {
	if err := json.NewDecoder(os.Stdin).Decode(v); err != nil {
		fmt.Fprintln(os.Stderr, "bad request:", err)
		os.Exit(2)
	}
}
