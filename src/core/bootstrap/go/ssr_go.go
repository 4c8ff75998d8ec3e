// SSR bootstrap helper for Go, compiled and run inside the sandbox with the
// image's own Go (standard library only: go/ast, go/parser). Usage:
//
//	ssrgo COMMAND < request.json
//
// Commands: targets (functions of the non-test sources, covered or named by
// the tests), mutate (one function: its body replaced by a return of zero
// values, or one if condition negated), weaken (delete the top-level test
// functions of the given test ids). Test ids are "IMPORTPATH::TestName" or
// "IMPORTPATH::TestName/subtest", as the go test -json parser writes them.
// Answers one JSON object on stdout.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

type request struct {
	Root      string   `json:"root"`
	TestFiles []string `json:"testFiles"`
	CovFile   string   `json:"covFile"`
	File      string   `json:"file"`
	Symbol    string   `json:"symbol"`
	Line      int      `json:"line"`
	Strategy  string   `json:"strategy"`
	Seed      int64    `json:"seed"`
	IDs       []string `json:"ids"`
}

type strategies struct {
	Body   bool `json:"body"`
	Branch int  `json:"branch"`
	Block  int  `json:"block"`
}

type target struct {
	File       string     `json:"file"`
	Symbol     string     `json:"symbol"`
	Line       int        `json:"line"`
	Covered    bool       `json:"covered"`
	Referenced bool       `json:"referenced"`
	Strategies strategies `json:"strategies"`
	Size       int        `json:"size"`
}

var generated = regexp.MustCompile(`(?m)^// Code generated .* DO NOT EDIT\.$`)

// modulePath reads the module line of go.mod.
func modulePath(root string) string {
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

// goFiles lists the module's .go files (repo-relative), without vendor/, testdata/ and hidden folders.
func goFiles(root string) []string {
	var out []string
	_ = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		name := info.Name()
		if info.IsDir() {
			if p != root && (name == "vendor" || name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "node_modules") {
				return filepath.SkipDir
			}
			if p != root {
				if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
					return filepath.SkipDir // another module
				}
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func symbolOf(fn *ast.FuncDecl) string {
	if fn.Recv != nil && len(fn.Recv.List) > 0 {
		t := fn.Recv.List[0].Type
		if s, ok := t.(*ast.StarExpr); ok {
			t = s.X
		}
		switch x := t.(type) {
		case *ast.Ident:
			return x.Name + "." + fn.Name.Name
		case *ast.IndexExpr:
			if id, ok := x.X.(*ast.Ident); ok {
				return id.Name + "." + fn.Name.Name
			}
		case *ast.IndexListExpr:
			if id, ok := x.X.(*ast.Ident); ok {
				return id.Name + "." + fn.Name.Name
			}
		}
	}
	return fn.Name.Name
}

func ifStmts(fn *ast.FuncDecl) []*ast.IfStmt {
	var out []*ast.IfStmt
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		if s, ok := n.(*ast.IfStmt); ok {
			out = append(out, s)
		}
		return true
	})
	return out
}

// trivialBody: the body is already a single return of literals or nothing at all.
func trivialBody(fn *ast.FuncDecl) bool {
	if fn.Body == nil || len(fn.Body.List) == 0 {
		return true
	}
	if len(fn.Body.List) > 1 {
		return false
	}
	r, ok := fn.Body.List[0].(*ast.ReturnStmt)
	if !ok {
		return false
	}
	for _, e := range r.Results {
		switch e.(type) {
		case *ast.BasicLit, *ast.Ident:
		default:
			return false
		}
	}
	return true
}

type covBlock struct{ start, end, count int }

// coverage reads a go test -coverprofile file: blocks per repo-relative file.
func coverage(path, module string) (map[string][]covBlock, bool) {
	out := map[string][]covBlock{}
	f, err := os.Open(path)
	if err != nil {
		return out, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	line := regexp.MustCompile(`^(.+\.go):(\d+)\.\d+,(\d+)\.\d+ \d+ (\d+)$`)
	any := false
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		file := m[1]
		if module != "" && strings.HasPrefix(file, module+"/") {
			file = file[len(module)+1:]
		}
		s, _ := strconv.Atoi(m[2])
		e, _ := strconv.Atoi(m[3])
		c, _ := strconv.Atoi(m[4])
		out[file] = append(out[file], covBlock{s, e, c})
		any = true
	}
	return out, any
}

func targets(req request) (interface{}, error) {
	module := modulePath(req.Root)
	files := goFiles(req.Root)
	cov, haveCov := coverage(req.CovFile, module)
	fset := token.NewFileSet()
	refs := map[string]bool{}
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, filepath.Join(req.Root, f), nil, 0)
		if err != nil {
			continue
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.Ident:
				refs[x.Name] = true
			case *ast.SelectorExpr:
				refs[x.Sel.Name] = true
			}
			return true
		})
	}
	out := []target{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(filepath.Join(req.Root, f))
		if err != nil || len(src) > 400000 || generated.Match(src) {
			continue
		}
		file, err := parser.ParseFile(fset, filepath.Join(req.Root, f), src, 0)
		if err != nil {
			continue
		}
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil || fn.Name.Name == "init" || fn.Name.Name == "main" {
				continue
			}
			st := strategies{Body: !trivialBody(fn), Branch: len(ifStmts(fn))}
			if !st.Body && st.Branch == 0 {
				continue
			}
			start, end := fset.Position(fn.Pos()).Line, fset.Position(fn.End()).Line
			covered := false
			for _, b := range cov[f] {
				if b.count > 0 && b.start >= start && b.end <= end {
					covered = true
					break
				}
			}
			out = append(out, target{File: f, Symbol: symbolOf(fn), Line: start, Covered: covered,
				Referenced: refs[fn.Name.Name], Strategies: st, Size: end - start + 1})
		}
	}
	return map[string]interface{}{"targets": out, "coverage": haveCov}, nil
}

// importName guesses the name an import is used by: its explicit name, else the last
// path element without a major-version suffix or a go- prefix.
func importName(spec *ast.ImportSpec) string {
	if spec.Name != nil {
		return spec.Name.Name
	}
	p, _ := strconv.Unquote(spec.Path.Value)
	parts := strings.Split(p, "/")
	last := parts[len(parts)-1]
	if regexp.MustCompile(`^v\d+$`).MatchString(last) && len(parts) > 1 {
		last = parts[len(parts)-2]
	}
	last = regexp.MustCompile(`\.v\d+$`).ReplaceAllString(last, "")
	last = strings.TrimPrefix(last, "go-")
	last = strings.TrimSuffix(last, "-go")
	return strings.ReplaceAll(last, "-", "_")
}

func usedNames(file *ast.File) map[string]bool {
	used := map[string]bool{}
	ast.Inspect(file, func(n ast.Node) bool {
		if s, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := s.X.(*ast.Ident); ok {
				used[id.Name] = true
			}
		}
		return true
	})
	return used
}

// blankUnused turns imports the edit left unused into blank imports (`_ "path"`),
// so the file still compiles: only imports used before the edit and not after.
func blankUnused(path string, before map[string]bool, src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, src, parser.ImportsOnly|parser.ParseComments)
	if err != nil {
		return src, err
	}
	full, err := parser.ParseFile(token.NewFileSet(), path, src, 0)
	if err != nil {
		return src, err
	}
	after := usedNames(full)
	type edit struct{ off int }
	var edits []edit
	for _, spec := range file.Imports {
		name := importName(spec)
		if name == "_" || name == "." || !before[name] || after[name] {
			continue
		}
		edits = append(edits, edit{fset.Position(spec.Pos()).Offset})
	}
	sort.Slice(edits, func(i, j int) bool { return edits[i].off > edits[j].off })
	for _, e := range edits {
		// With an explicit name, replace it; else insert "_ " before the path.
		rest := string(src[e.off:])
		if !strings.HasPrefix(rest, `"`) && !strings.HasPrefix(rest, "`") {
			sp := strings.IndexAny(rest, " \t")
			src = append(append(append([]byte{}, src[:e.off]...), '_'), src[e.off+sp:]...)
		} else {
			src = append(append(append([]byte{}, src[:e.off]...), []byte("_ ")...), src[e.off:]...)
		}
	}
	return src, nil
}

func findFunc(file *ast.File, fset *token.FileSet, symbol string, line int) *ast.FuncDecl {
	var best *ast.FuncDecl
	for _, d := range file.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Body == nil || symbolOf(fn) != symbol {
			continue
		}
		if best == nil || fset.Position(fn.Pos()).Line == line {
			best = fn
		}
	}
	return best
}

func mutate(req request) (interface{}, error) {
	path := filepath.Join(req.Root, req.File)
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	if err != nil {
		return map[string]interface{}{"ok": false, "reason": "does not parse: " + err.Error()}, nil
	}
	fn := findFunc(file, fset, req.Symbol, req.Line)
	if fn == nil {
		return map[string]interface{}{"ok": false, "reason": "function not found"}, nil
	}
	before := usedNames(file)
	off := func(p token.Pos) int { return fset.Position(p).Offset }
	var out []byte
	var desc string
	switch req.Strategy {
	case "body":
		if trivialBody(fn) {
			return map[string]interface{}{"ok": false, "reason": "the body is already trivial"}, nil
		}
		body := "{\n}"
		if fn.Type.Results != nil && len(fn.Type.Results.List) > 0 {
			named := fn.Type.Results.List[0].Names != nil
			if named {
				body = "{\n\treturn\n}"
			} else {
				var zeros []string
				for _, r := range fn.Type.Results.List {
					t := string(src[off(r.Type.Pos()):off(r.Type.End())])
					zeros = append(zeros, "*new("+t+")")
				}
				body = "{\n\treturn " + strings.Join(zeros, ", ") + "\n}"
			}
		}
		out = append(append(append([]byte{}, src[:off(fn.Body.Pos())]...), []byte(body)...), src[off(fn.Body.End()):]...)
		desc = fmt.Sprintf("removes the body of %s (returns zero values)", req.Symbol)
	case "branch":
		ifs := ifStmts(fn)
		if len(ifs) == 0 {
			return map[string]interface{}{"ok": false, "reason": "no if statement"}, nil
		}
		s := ifs[rand.New(rand.NewSource(req.Seed)).Intn(len(ifs))]
		cond := string(src[off(s.Cond.Pos()):off(s.Cond.End())])
		out = append(append(append([]byte{}, src[:off(s.Cond.Pos())]...), []byte("!("+cond+")")...), src[off(s.Cond.End()):]...)
		desc = fmt.Sprintf("negates the condition of the if at line %d in %s (%s)", fset.Position(s.Pos()).Line, req.Symbol, oneLine(cond))
	default:
		return map[string]interface{}{"ok": false, "reason": "strategy " + req.Strategy + " is not used for Go"}, nil
	}
	out, err = blankUnused(path, before, out)
	if err != nil {
		return map[string]interface{}{"ok": false, "reason": "the mutated file does not parse: " + err.Error()}, nil
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return nil, err
	}
	return map[string]interface{}{"ok": true, "description": desc}, nil
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

func weaken(req request) (interface{}, error) {
	module := modulePath(req.Root)
	// Top-level test names per package folder.
	want := map[string]map[string][]string{}
	var missing, removed []string
	for _, id := range req.IDs {
		i := strings.Index(id, "::")
		if i < 0 {
			missing = append(missing, id)
			continue
		}
		pkg, name := id[:i], id[i+2:]
		dir := ""
		if pkg != module {
			if !strings.HasPrefix(pkg, module+"/") {
				missing = append(missing, id)
				continue
			}
			dir = pkg[len(module)+1:]
		}
		top := strings.SplitN(name, "/", 2)[0]
		if want[dir] == nil {
			want[dir] = map[string][]string{}
		}
		want[dir][top] = append(want[dir][top], id)
	}
	var changed []string
	found := map[string]bool{}
	for _, rel := range goFiles(req.Root) {
		if !strings.HasSuffix(rel, "_test.go") {
			continue
		}
		dir := filepath.ToSlash(filepath.Dir(rel))
		if dir == "." {
			dir = ""
		}
		names := want[dir]
		if len(names) == 0 {
			continue
		}
		path := filepath.Join(req.Root, rel)
		src, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, path, src, parser.ParseComments)
		if err != nil {
			continue
		}
		before := usedNames(file)
		type span struct{ a, b int }
		var spans []span
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || names[fn.Name.Name] == nil || found[dir+"\x00"+fn.Name.Name] {
				continue
			}
			start := fn.Pos()
			if fn.Doc != nil {
				start = fn.Doc.Pos()
			}
			a, b := fset.Position(start).Offset, fset.Position(fn.End()).Offset
			if b < len(src) && src[b] == '\n' {
				b++
			}
			spans = append(spans, span{a, b})
			found[dir+"\x00"+fn.Name.Name] = true
			removed = append(removed, names[fn.Name.Name]...)
		}
		if len(spans) == 0 {
			continue
		}
		sort.Slice(spans, func(i, j int) bool { return spans[i].a > spans[j].a })
		out := src
		for _, s := range spans {
			out = append(append([]byte{}, out[:s.a]...), out[s.b:]...)
		}
		out, err = blankUnused(path, before, out)
		if err != nil {
			return map[string]interface{}{"ok": false, "reason": rel + " does not parse once its tests are deleted: " + err.Error()}, nil
		}
		if err := os.WriteFile(path, out, 0o644); err != nil {
			return nil, err
		}
		changed = append(changed, rel)
	}
	for dir, names := range want {
		for top, ids := range names {
			if !found[dir+"\x00"+top] {
				missing = append(missing, ids...)
			}
		}
	}
	sort.Strings(removed)
	sort.Strings(missing)
	if removed == nil {
		removed = []string{}
	}
	if missing == nil {
		missing = []string{}
	}
	if changed == nil {
		changed = []string{}
	}
	ok := len(removed) > 0
	res := map[string]interface{}{"ok": ok, "removed": removed, "missing": missing, "files": changed}
	if !ok {
		res["reason"] = "none of the test functions was found"
	}
	return res, nil
}

func main() {
	var req request
	answer := func(v interface{}) {
		data, _ := json.Marshal(v)
		os.Stdout.Write(data)
	}
	if len(os.Args) < 2 {
		answer(map[string]interface{}{"ok": false, "error": "usage: ssrgo targets|mutate|weaken < request.json"})
		return
	}
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		answer(map[string]interface{}{"ok": false, "error": "bad request: " + err.Error()})
		return
	}
	var out interface{}
	var err error
	switch os.Args[1] {
	case "targets":
		out, err = targets(req)
	case "mutate":
		out, err = mutate(req)
	case "weaken":
		out, err = weaken(req)
	default:
		out = map[string]interface{}{"ok": false, "reason": "unknown command " + os.Args[1]}
	}
	if err != nil {
		out = map[string]interface{}{"ok": false, "error": err.Error()}
	}
	answer(out)
}
