package search

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

func TestSymbols(t *testing.T) {
	root := t.TempDir()
	write(t, root, "srv/server.go", `package srv

type Server struct{ Addr string }

type Handler interface{ ServeHTTP() }

type Mode int

const DefaultServePort = 8080

var serveCount int

func ListenAndServe(addr string) error { return nil }

func (s *Server) Serve() error { return nil }
`)
	write(t, root, "web/app.ts", "export class ServeApp {\n  start(port: number) {\n  }\n}\nexport interface ServeOpts {}\nexport function serveStatic(dir: string) {}\nexport const serveMax = 3\nenum ServeKind { A }\n")
	write(t, root, "tools/serve.py", "class ServePy:\n    def serve_forever(self):\n        pass\n\ndef serve_main():\n    pass\n")
	write(t, root, "lib.rs", "pub struct ServeRs;\npub trait Servable {}\npub fn serve_rs() {}\n")
	write(t, root, "main.c", "struct serve_ctx {\n};\nstatic int serve_c(int fd)\n{\n}\n#define SERVE_MAX 4\n")
	write(t, root, "Main.java", "public class ServeJava {\n    public static void serveJ(String[] a) {\n    }\n}\n")
	svc := open(t, root, root)
	ctx := context.Background()

	syms, err := svc.Symbols(ctx, "serve")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, s := range syms {
		got[s.Name] = s.Kind
		if !strings.HasPrefix(s.Location.URI, "file://"+root+"/") {
			t.Errorf("uri %q", s.Location.URI)
		}
	}
	want := map[string]int{
		"Server": KindStruct, "Server.Serve": KindMethod, "ListenAndServe": KindFunction, "DefaultServePort": KindConstant,
		"serveCount": KindVariable, "ServeApp": KindClass, "ServeOpts": KindInterface, "serveStatic": KindFunction,
		"serveMax": KindConstant, "ServeKind": KindEnum, "ServePy": KindClass, "serve_forever": KindMethod,
		"serve_main": KindFunction, "ServeRs": KindStruct, "serve_rs": KindFunction, "serve_ctx": KindStruct,
		"serve_c": KindFunction, "SERVE_MAX": KindConstant, "ServeJava": KindClass, "serveJ": KindMethod,
	}
	for name, kind := range want {
		if got[name] != kind {
			t.Errorf("symbol %s: kind %d, want %d", name, got[name], kind)
		}
	}
	if len(syms) > MaxSymbols {
		t.Errorf("%d symbols, bound %d", len(syms), MaxSymbols)
	}
	// Exact match first, with the position of the identifier.
	syms, _ = svc.Symbols(ctx, "Server")
	if len(syms) == 0 || syms[0].Name != "Server" || syms[0].Location.Range.Start != (Position{2, 5}) || syms[0].Location.Range.End != (Position{2, 11}) {
		t.Errorf("Server: %+v", syms)
	}
	if syms, _ := svc.Symbols(ctx, "Handler"); len(syms) != 1 || syms[0].Kind != KindInterface {
		t.Errorf("Handler: %+v", syms)
	}
	// Edits are picked up.
	write(t, root, "srv/extra.go", "package srv\n\nfunc BrandNewServe() {}\n")
	waitFor(t, func() bool {
		syms, _ := svc.Symbols(ctx, "BrandNewServe")
		return len(syms) == 1 && strings.HasSuffix(syms[0].Location.URI, "/srv/extra.go")
	})
	write(t, root, "srv/extra.go", "package srv\n")
	waitFor(t, func() bool {
		syms, _ := svc.Symbols(ctx, "BrandNewServe")
		return len(syms) == 0
	})
	_ = fmt.Sprint
}
