// Canaries and twins for Go test files (the judge's canaries.ts): planted on
// go/ast into the oracle test files in the evaluation sandbox, after the
// solver is done and before the run. A twin is a copy of a top-level
// `func TestX(t *testing.T)` under a fresh random name; a must-pass canary
// is an empty test and a must-fail canary a test that calls Fatal. Inverted
// twins are not planted: a testing.T that failed cannot pass again, so a
// copy that "fails whenever the original passes" cannot be written.
package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
)

type twinPlan struct {
	Of       string `json:"of"`
	Token    string `json:"token"`
	Inverted bool   `json:"inverted"`
}

type canaryPlan struct {
	Kind  string `json:"kind"`
	Token string `json:"token"`
}

type filePlan struct {
	Path     string       `json:"path"`
	Twins    []twinPlan   `json:"twins"`
	Canaries []canaryPlan `json:"canaries"`
}

type planted struct {
	File string  `json:"file"`
	Kind string  `json:"kind"`
	Name string  `json:"name"`
	Of   *string `json:"of"`
}

type skipped struct {
	File string  `json:"file"`
	Of   *string `json:"of"`
	Why  string  `json:"why"`
}

type planting struct {
	Planted []planted `json:"planted"`
	Skipped []skipped `json:"skipped"`
}

// testName: a Go test's name from a token (a letter first): Test, then the token capitalised.
func testName(tok string) string {
	return "Test" + strings.ToUpper(tok[:1]) + tok[1:]
}

// testingName: the name the file imports "testing" under ("" when it does not, or dot-imports it).
func testingName(f *ast.File) string {
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == "testing" {
			if imp.Name == nil {
				return "testing"
			}
			if imp.Name.Name != "." && imp.Name.Name != "_" {
				return imp.Name.Name
			}
		}
	}
	return ""
}

// testFunc: the top-level `func NAME(t *testing.T)` of the file.
func testFunc(f *ast.File, name, testing string) *ast.FuncDecl {
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv != nil || fd.Name.Name != name || fd.Body == nil || len(fd.Type.Params.List) != 1 {
			continue
		}
		star, ok := fd.Type.Params.List[0].Type.(*ast.StarExpr)
		if sel, is := starSel(star, ok); is && sel.Sel.Name == "T" && isIdent(sel.X, testing) {
			return fd
		}
	}
	return nil
}

func starSel(star *ast.StarExpr, ok bool) (*ast.SelectorExpr, bool) {
	if !ok {
		return nil, false
	}
	sel, is := star.X.(*ast.SelectorExpr)
	return sel, is
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// plantFile returns the file's new text and what was planted in it.
func plantFile(p filePlan, out *planting) ([]byte, error) {
	src, err := os.ReadFile(p.Path)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, p.Path, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	testing := testingName(f)
	if testing == "" {
		return nil, fmt.Errorf("the file does not import \"testing\" by name")
	}
	var add bytes.Buffer
	for _, tw := range p.Twins {
		of := tw.Of
		fd := testFunc(f, of, testing)
		switch {
		case tw.Inverted:
			out.Skipped = append(out.Skipped, skipped{p.Path, &of, "an inverted twin cannot be written in Go (a failed testing.T cannot pass again)"})
		case fd == nil:
			out.Skipped = append(out.Skipped, skipped{p.Path, &of, "no top-level func " + of + "(t *testing.T) in the file (a subtest or a test of another file)"})
		default:
			name := testName(tw.Token)
			start, end := fset.Position(fd.Pos()).Offset, fset.Position(fd.End()).Offset
			at := fset.Position(fd.Name.Pos()).Offset - start
			text := string(src[start:end])
			fmt.Fprintf(&add, "\n%s%s%s\n", text[:at], name, text[at+len(of):])
			out.Planted = append(out.Planted, planted{p.Path, "twin", name, &of})
		}
	}
	for _, c := range p.Canaries {
		name := testName(c.Token)
		body, kind := "", "must-pass"
		if c.Kind == "fail" {
			body, kind = "\n\tt.Fatal(\"expected the other value\")\n", "must-fail"
		}
		fmt.Fprintf(&add, "\nfunc %s(t *%s.T) {%s}\n", name, testing, body)
		out.Planted = append(out.Planted, planted{p.Path, kind, name, nil})
	}
	return append(append([]byte{}, src...), add.Bytes()...), nil
}

// plant plants every file of the plan in place.
func plant(files []filePlan) planting {
	out := planting{Planted: []planted{}, Skipped: []skipped{}}
	for _, p := range files {
		var mine planting
		text, err := plantFile(p, &mine)
		if err == nil && len(mine.Planted) > 0 {
			err = os.WriteFile(p.Path, text, 0o644)
		}
		if err != nil {
			out.Skipped = append(out.Skipped, skipped{p.Path, nil, "not planted: " + err.Error()})
			continue
		}
		out.Planted = append(out.Planted, mine.Planted...)
		out.Skipped = append(out.Skipped, mine.Skipped...)
	}
	return out
}
