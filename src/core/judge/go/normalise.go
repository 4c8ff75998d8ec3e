// The three normalisations of ssr_neutral.go: no-ops removed, independent
// simple statements in canonical order, a function's own names renamed.
package main

import (
	"fmt"
	"go/ast"
	"go/token"
)

// isFalse reports an identifier that names the predeclared false (not shadowed in the file).
func isFalse(e ast.Expr) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == "false" && id.Obj == nil
}

// pure: an expression without calls, receives, literals of functions or
// conversions, whose order against another pure expression cannot be seen.
func pure(e ast.Expr) bool {
	ok := true
	ast.Inspect(e, func(n ast.Node) bool {
		switch x := n.(type) {
		case nil, *ast.Ident, *ast.BasicLit, *ast.BinaryExpr, *ast.ParenExpr, *ast.SelectorExpr:
		case *ast.UnaryExpr:
			ok = ok && x.Op != token.ARROW
		default:
			ok = false
		}
		return ok
	})
	return ok
}

func noop(s ast.Stmt) bool {
	switch x := s.(type) {
	case *ast.EmptyStmt:
		return true
	case *ast.BlockStmt:
		return len(x.List) == 0
	case *ast.IfStmt:
		return x.Init == nil && x.Else == nil && isFalse(x.Cond)
	case *ast.ForStmt:
		return x.Init == nil && x.Cond != nil && isFalse(x.Cond)
	case *ast.AssignStmt:
		if x.Tok != token.ASSIGN || len(x.Lhs) != 1 || len(x.Rhs) != 1 {
			return false
		}
		l, lok := x.Lhs[0].(*ast.Ident)
		r, rok := x.Rhs[0].(*ast.Ident)
		if lok && rok && l.Name == r.Name && l.Obj == r.Obj {
			return true
		}
		return lok && l.Name == "_" && pure(x.Rhs[0])
	}
	return false
}

func stripNoops(list []ast.Stmt) []ast.Stmt {
	out := list[:0:0]
	for _, s := range list {
		if !noop(s) {
			out = append(out, s)
		}
	}
	return out
}

// simple: an assignment or var declaration of plain names from pure
// expressions; its reads and writes by name.
func simple(s ast.Stmt) (reads, writes map[string]bool, ok bool) {
	reads, writes = map[string]bool{}, map[string]bool{}
	read := func(e ast.Expr) {
		ast.Inspect(e, func(n ast.Node) bool {
			if id, is := n.(*ast.Ident); is {
				reads[id.Name] = true
			}
			if sel, is := n.(*ast.SelectorExpr); is {
				ast.Inspect(sel.X, func(m ast.Node) bool {
					if id, is := m.(*ast.Ident); is {
						reads[id.Name] = true
					}
					return true
				})
				return false
			}
			return true
		})
	}
	switch x := s.(type) {
	case *ast.AssignStmt:
		if x.Tok != token.ASSIGN && x.Tok != token.DEFINE {
			return nil, nil, false
		}
		for _, l := range x.Lhs {
			id, is := l.(*ast.Ident)
			if !is {
				return nil, nil, false
			}
			writes[id.Name] = true
		}
		for _, r := range x.Rhs {
			if !pure(r) {
				return nil, nil, false
			}
			read(r)
		}
		return reads, writes, true
	case *ast.DeclStmt:
		g, is := x.Decl.(*ast.GenDecl)
		if !is || g.Tok != token.VAR {
			return nil, nil, false
		}
		for _, sp := range g.Specs {
			v := sp.(*ast.ValueSpec)
			for _, n := range v.Names {
				writes[n.Name] = true
			}
			if v.Type != nil {
				read(v.Type)
			}
			for _, e := range v.Values {
				if !pure(e) {
					return nil, nil, false
				}
				read(e)
			}
		}
		return reads, writes, true
	}
	return nil, nil, false
}

type simpleStmt struct {
	stmt          ast.Stmt
	reads, writes map[string]bool
	key           string
}

func conflict(a, b simpleStmt) bool {
	for w := range a.writes {
		if b.reads[w] || b.writes[w] {
			return true
		}
	}
	for w := range b.writes {
		if a.reads[w] {
			return true
		}
	}
	return false
}

// canonical orders a run: repeatedly the smallest statement (by its text
// with names erased) of those no earlier remaining statement must precede.
func canonical(run []simpleStmt) []ast.Stmt {
	out := make([]ast.Stmt, 0, len(run))
	left := append([]simpleStmt(nil), run...)
	for len(left) > 0 {
		best := -1
		for i := range left {
			free := true
			for j := 0; j < i && free; j++ {
				free = !conflict(left[j], left[i])
			}
			if free && (best < 0 || left[i].key < left[best].key) {
				best = i
			}
		}
		out = append(out, left[best].stmt)
		left = append(left[:best], left[best+1:]...)
	}
	return out
}

const maxRun = 200

func reorder(list []ast.Stmt) []ast.Stmt {
	out := make([]ast.Stmt, 0, len(list))
	var run []simpleStmt
	flush := func() {
		if len(run) > 1 && len(run) <= maxRun {
			out = append(out, canonical(run)...)
		} else {
			for _, s := range run {
				out = append(out, s.stmt)
			}
		}
		run = nil
	}
	for _, s := range list {
		if r, w, ok := simple(s); ok {
			run = append(run, simpleStmt{s, r, w, erasedKey(s)})
			continue
		}
		flush()
		out = append(out, s)
	}
	flush()
	return out
}

// erasedKey: a statement's text with every identifier that has an object erased.
func erasedKey(s ast.Stmt) string {
	var saved []*ast.Ident
	var names []string
	ast.Inspect(s, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id.Obj != nil {
			saved, names = append(saved, id), append(names, id.Name)
			id.Name = "_"
		}
		return true
	})
	key := dump(s)
	for i, id := range saved {
		id.Name = names[i]
	}
	return key
}

// rename gives what each function declares canonical names, in order of
// first appearance; returns canonical name -> original name.
func rename(f *ast.File) map[string]string {
	names := map[string]string{}
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		var fn ast.Node
		var own *ast.Ident // a function's own name is the package's, not its
		switch x := node.(type) {
		case *ast.FuncDecl:
			fn, own = x, x.Name
		case *ast.FuncLit:
			fn = x
		default:
			return true
		}
		canon := map[*ast.Object]string{}
		ast.Inspect(fn, func(m ast.Node) bool {
			id, ok := m.(*ast.Ident)
			if !ok || id == own || id.Obj == nil || !declaredIn(id.Obj, fn) {
				return true
			}
			c, seen := canon[id.Obj]
			if !seen {
				c = fmt.Sprintf("_v%d", n)
				n++
				canon[id.Obj] = c
				names[c] = id.Name
			}
			id.Name = c
			return true
		})
		return false
	})
	return names
}

func declaredIn(obj *ast.Object, fn ast.Node) (in bool) {
	defer func() {
		if recover() != nil { // a typed nil declaration
			in = false
		}
	}()
	d, ok := obj.Decl.(ast.Node)
	return ok && d.Pos() >= fn.Pos() && d.Pos() < fn.End()
}
