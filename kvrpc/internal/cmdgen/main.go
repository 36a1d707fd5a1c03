// Command cmdgen writes kvrpc's command table (commands.go) from the kvproto
// descriptors of the tikvpb.Tikv service and the hand-kept policy table in
// policy.go. Run it through go generate in the kvrpc directory:
//
//	go generate ./kvrpc
//
// The descriptors come from the protobuf registry the kvproto packages fill
// when they are linked in, so the table follows the kvproto version in
// kvrpc's go.mod. Go spellings the descriptors do not carry (oneof wrapper
// types, field names) are read by reflection over the generated types, and
// every name the output uses is checked to exist.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"os"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

func main() {
	out := flag.String("o", "commands.go", "output file")
	flag.Parse()
	src, err := generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cmdgen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "cmdgen:", err)
		os.Exit(1)
	}
}

// Full names of the descriptors the table is derived from.
const (
	serviceName  = "tikvpb.Tikv"
	batchReqName = "tikvpb.BatchCommandsRequest.Request"
	batchRspName = "tikvpb.BatchCommandsResponse.Response"
	oneofName    = "cmd"
	contextField = "context"
)

// command is one row of the generated table.
type command struct {
	Method   string // gRPC method name, the CmdType value
	Name     string // Go name: Cmd<Name>, New<Name>
	Var      string // spec variable
	Req      string // qualified Go type of the request message, without '*'
	ReqName  string // same, unqualified
	Resp     string // same for the response message
	GoMethod string // method of tikvpb.TikvClient

	CtxGetter string // getter of the Context field; empty if none
	CtxField  string // Go name of the Context field
	CtxType   string // qualified Go type of the Context message

	Arm        int32  // field number of the oneof arm in both batch messages; 0 if none
	ReqWrapper string // qualified oneof wrapper type in the batch request
	ReqField   string // its field
	RespGetter string // getter of the arm on the batch response

	Fast         string
	Read         bool
	Idempotent   bool
	IdempotentIf string
	Why          string
}

// table is everything the template needs.
type table struct {
	Imports  []string
	BatchReq string // qualified Go type of the batch request element
	BatchRsp string // same for the batch response element
	Client   string // qualified tikvpb.TikvClient
	Commands []command
}

// generate returns the formatted source of commands.go.
func generate() ([]byte, error) {
	t, err := build()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, t); err != nil {
		return nil, err
	}
	src, err := format.Source(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("format generated code: %w\n%s", err, buf.Bytes())
	}
	return src, nil
}

// build reads the descriptors and joins them with the policy table.
func build() (*table, error) {
	// Importing tikvpb (for TikvClient below) registers its descriptors and
	// those of the packages it imports.
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(serviceName)
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", serviceName, err)
	}
	svc, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil, fmt.Errorf("%s is a %T, not a service", serviceName, d)
	}
	names := newNamer()
	reqArms, err := arms(batchReqName, names)
	if err != nil {
		return nil, err
	}
	rspArms, err := arms(batchRspName, names)
	if err != nil {
		return nil, err
	}
	t := &table{}
	if t.BatchReq, err = names.message(batchReqName); err != nil {
		return nil, err
	}
	if t.BatchRsp, err = names.message(batchRspName); err != nil {
		return nil, err
	}
	batchRspType, err := names.goType(batchRspName)
	if err != nil {
		return nil, err
	}
	client := reflect.TypeFor[tikvpb.TikvClient]()
	t.Client = names.qualify(client)

	seen := map[string]bool{}
	methods := svc.Methods()
	for i := range methods.Len() {
		m := methods.Get(i)
		p, ok := policies[string(m.Name())]
		if !ok {
			continue
		}
		seen[string(m.Name())] = true
		if m.IsStreamingClient() || m.IsStreamingServer() {
			return nil, fmt.Errorf("%s is a streaming method; only unary methods are commands", m.Name())
		}
		c := command{
			Method:       string(m.Name()),
			Name:         p.name,
			Fast:         p.fast,
			Read:         p.read,
			Idempotent:   p.read || p.idempotent,
			IdempotentIf: p.idempotentIf,
			Why:          p.why,
		}
		if c.Name == "" {
			c.Name = strings.TrimPrefix(strings.TrimPrefix(c.Method, "Kv"), "KV")
		}
		c.Var = lowerFirst(c.Name) + "Spec"
		if err := p.check(c.Method); err != nil {
			return nil, err
		}
		in, out := m.Input(), m.Output()
		if c.Req, err = names.message(in.FullName()); err != nil {
			return nil, err
		}
		c.ReqName = c.Req[strings.LastIndexByte(c.Req, '.')+1:]
		if c.Resp, err = names.message(out.FullName()); err != nil {
			return nil, err
		}
		if c.GoMethod, err = clientMethod(client, c.Method, in.FullName(), out.FullName(), names); err != nil {
			return nil, err
		}
		if f := in.Fields().ByName(contextField); f != nil && f.Message() != nil {
			if c.CtxType, err = names.message(f.Message().FullName()); err != nil {
				return nil, err
			}
			if c.CtxField, c.CtxGetter, err = names.field(in.FullName(), f); err != nil {
				return nil, err
			}
		}
		ra, inBatch := reqArms[in.FullName()]
		sa, outBatch := rspArms[out.FullName()]
		switch {
		case inBatch != outBatch:
			return nil, fmt.Errorf("%s: has a batch arm on one side only", c.Method)
		case inBatch && ra.num != sa.num:
			// frame.go and decode.go rely on the two numbers being equal.
			return nil, fmt.Errorf("%s: request arm %d and response arm %d differ", c.Method, ra.num, sa.num)
		case inBatch:
			c.Arm = int32(ra.num)
			c.ReqWrapper, c.ReqField = ra.wrapper, ra.field
			c.RespGetter = "Get" + sa.field
			g, ok := reflect.PointerTo(batchRspType).MethodByName(c.RespGetter)
			want, _ := names.goType(out.FullName())
			if !ok || g.Type.NumOut() != 1 || g.Type.Out(0) != reflect.PointerTo(want) {
				return nil, fmt.Errorf("%s: no getter %s returning *%s", batchRspName, c.RespGetter, out.FullName())
			}
		case c.Fast != "":
			return nil, fmt.Errorf("%s: fast decoder %s but no batch arm", c.Method, c.Fast)
		}
		t.Commands = append(t.Commands, c)
	}
	for name := range policies {
		if !seen[name] {
			return nil, fmt.Errorf("policy names %s, which %s does not have", name, serviceName)
		}
	}
	t.Imports = names.imports()
	return t, nil
}

// check reports an incomplete or contradictory policy entry.
func (p policy) check(method string) error {
	switch {
	case p.read && (p.idempotentIf != "" || p.why != ""):
		return fmt.Errorf("policy %s: a read needs no idempotency decision", method)
	case !p.read && p.why == "":
		return fmt.Errorf("policy %s: a write needs a reason for its idempotency decision", method)
	case p.idempotentIf != "" && p.idempotent:
		return fmt.Errorf("policy %s: set idempotent or idempotentIf, not both", method)
	}
	return nil
}

// arm is one field of a batch message's oneof.
type arm struct {
	num     protoreflect.FieldNumber
	wrapper string // qualified Go oneof wrapper type
	field   string // its single field
}

// arms returns the oneof arms of the batch message name, keyed by the full
// name of the message each arm carries.
func arms(name protoreflect.FullName, names *namer) (map[protoreflect.FullName]arm, error) {
	md, err := names.descriptor(name)
	if err != nil {
		return nil, err
	}
	od := md.Oneofs().ByName(oneofName)
	if od == nil {
		return nil, fmt.Errorf("%s has no oneof %s", name, oneofName)
	}
	wrappers, err := oneofWrappers(name, names)
	if err != nil {
		return nil, err
	}
	out := map[protoreflect.FullName]arm{}
	fields := od.Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		if f.Message() == nil {
			continue
		}
		w, ok := wrappers[f.Number()]
		if !ok {
			return nil, fmt.Errorf("%s: no Go wrapper for oneof field %d", name, f.Number())
		}
		if _, dup := out[f.Message().FullName()]; dup {
			return nil, fmt.Errorf("%s: two arms carry %s", name, f.Message().FullName())
		}
		w.num = f.Number()
		out[f.Message().FullName()] = w
	}
	return out, nil
}

// oneofWrappers maps field numbers to the Go wrapper types of the oneof
// arms of message name, as its generated XXX_OneofWrappers lists them.
func oneofWrappers(name protoreflect.FullName, names *namer) (map[protoreflect.FieldNumber]arm, error) {
	t, err := names.goType(name)
	if err != nil {
		return nil, err
	}
	ow, ok := reflect.New(t).Interface().(interface{ XXX_OneofWrappers() []any })
	if !ok {
		return nil, fmt.Errorf("%s has no XXX_OneofWrappers", t)
	}
	out := map[protoreflect.FieldNumber]arm{}
	for _, w := range ow.XXX_OneofWrappers() {
		wt := reflect.TypeOf(w)
		if wt.Kind() != reflect.Pointer || wt.Elem().Kind() != reflect.Struct || wt.Elem().NumField() != 1 {
			return nil, fmt.Errorf("%s: unexpected oneof wrapper %s", name, wt)
		}
		f := wt.Elem().Field(0)
		num, ok := tagNumber(f.Tag.Get("protobuf"))
		if !ok {
			return nil, fmt.Errorf("%s: wrapper %s has no field number", name, wt)
		}
		out[num] = arm{wrapper: names.qualify(wt.Elem()), field: f.Name}
	}
	return out, nil
}

// tagNumber extracts the field number of a protobuf struct tag
// ("bytes,1,opt,name=Get,proto3,oneof").
func tagNumber(tag string) (protoreflect.FieldNumber, bool) {
	parts := strings.Split(tag, ",")
	if len(parts) < 2 {
		return 0, false
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n <= 0 {
		return 0, false
	}
	return protoreflect.FieldNumber(n), true
}

// clientMethod returns the tikvpb.TikvClient method of gRPC method name
// after checking it takes and returns the expected messages.
func clientMethod(client reflect.Type, name string, in, out protoreflect.FullName, names *namer) (string, error) {
	m, ok := client.MethodByName(name)
	if !ok {
		return "", fmt.Errorf("%s has no method %s", client, name)
	}
	inT, err := names.goType(in)
	if err != nil {
		return "", err
	}
	outT, err := names.goType(out)
	if err != nil {
		return "", err
	}
	// (ctx, *In, ...CallOption) (*Out, error)
	if m.Type.NumIn() != 3 || m.Type.In(1) != reflect.PointerTo(inT) ||
		m.Type.NumOut() != 2 || m.Type.Out(0) != reflect.PointerTo(outT) {
		return "", fmt.Errorf("%s.%s has signature %s", client, name, m.Type)
	}
	return m.Name, nil
}

// namer turns descriptor names into Go spellings and collects the imports
// they need.
type namer struct{ pkgs map[string]string }

func newNamer() *namer { return &namer{pkgs: map[string]string{}} }

func (n *namer) descriptor(name protoreflect.FullName) (protoreflect.MessageDescriptor, error) {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(name)
	if err != nil {
		return nil, fmt.Errorf("find message %s: %w", name, err)
	}
	return mt.Descriptor(), nil
}

// goType returns the generated Go struct type of message name.
func (n *namer) goType(name protoreflect.FullName) (reflect.Type, error) {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(name)
	if err != nil {
		return nil, fmt.Errorf("find message %s: %w", name, err)
	}
	// kvproto's messages are gogo-generated (API v1); unwrap the v2 view.
	t := reflect.TypeOf(protoadapt.MessageV1Of(mt.Zero().Interface()))
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("message %s has Go type %s", name, t)
	}
	return t.Elem(), nil
}

// message returns the qualified Go type name of message name.
func (n *namer) message(name protoreflect.FullName) (string, error) {
	t, err := n.goType(name)
	if err != nil {
		return "", err
	}
	return n.qualify(t), nil
}

// field returns the Go field and getter names of field f of message name.
func (n *namer) field(name protoreflect.FullName, f protoreflect.FieldDescriptor) (field, getter string, err error) {
	t, err := n.goType(name)
	if err != nil {
		return "", "", err
	}
	for i := range t.NumField() {
		sf := t.Field(i)
		if num, ok := tagNumber(sf.Tag.Get("protobuf")); ok && num == f.Number() {
			getter = "Get" + sf.Name
			if _, ok := reflect.PointerTo(t).MethodByName(getter); !ok {
				return "", "", fmt.Errorf("%s has no getter %s", t, getter)
			}
			return sf.Name, getter, nil
		}
	}
	return "", "", fmt.Errorf("%s has no Go field for %s", t, f.FullName())
}

// qualify returns pkg.Name for t and records the import.
func (n *namer) qualify(t reflect.Type) string {
	pkg := path.Base(t.PkgPath())
	n.pkgs[t.PkgPath()] = pkg
	return pkg + "." + t.Name()
}

func (n *namer) imports() []string {
	var out []string
	for p := range n.pkgs {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// lowerFirst lowers the leading initialism or letter of s: "GC" → "gc",
// "RawGet" → "rawGet".
func lowerFirst(s string) string {
	i := 0
	for i < len(s) && 'A' <= s[i] && s[i] <= 'Z' {
		i++
	}
	if i > 1 && i < len(s) {
		i-- // the last capital starts the next word
	}
	return strings.ToLower(s[:i]) + s[i:]
}

// wrap turns text into // comment lines of at most about 80 columns.
func wrap(text string) string {
	var b strings.Builder
	line := "//"
	for _, w := range strings.Fields(text) {
		if len(line)+1+len(w) > 80 && line != "//" {
			b.WriteString(line + "\n")
			line = "//"
		}
		line += " " + w
	}
	b.WriteString(line)
	return b.String()
}

var tmpl = template.Must(template.New("commands").Funcs(template.FuncMap{"wrap": wrap}).Parse(`// Code generated by cmdgen from the kvproto tikvpb.Tikv service descriptor and internal/cmdgen/policy.go. DO NOT EDIT.

package kvrpc

// This file is the command table: one spec per TiKV command, mapping the
// kvrpcpb messages to their unary gRPC method and, where TiKV accepts them in
// a BatchCommands stream, to the oneof arm of the batch messages. Change
// internal/cmdgen/policy.go, not this file, and run go generate.

import (
{{- range .Imports}}
	"{{.}}"
{{- end}}
)

// Command types. The value is the unary gRPC method name.
const (
{{- range .Commands}}
	// Cmd{{.Name}} is the {{.Method}} command.
	Cmd{{.Name}} CmdType = "{{.Method}}"
{{- end}}
)
{{range .Commands}}
var {{.Var}} = &spec[*{{.Req}}, *{{.Resp}}]{
	typ: Cmd{{.Name}},
{{- if .CtxGetter}}
	getCtx: (*{{.Req}}).{{.CtxGetter}},
	setCtx: func(q *{{.Req}}, c *{{.CtxType}}) { q.{{.CtxField}} = c },
{{- end}}
	call: {{$.Client}}.{{.GoMethod}},
{{- if .Arm}}
	wrap: func(q *{{.Req}}) *{{$.BatchReq}} {
		return &{{$.BatchReq}}{Cmd: &{{.ReqWrapper}}{ {{- .ReqField}}: q}}
	},
	unwrap: (*{{$.BatchRsp}}).{{.RespGetter}},
	arm: {{.Arm}},
{{- end}}
{{- if .Fast}}
	fast: {{.Fast}},
{{- end}}
{{- if .IdempotentIf}}
	idempotentIf: {{.IdempotentIf}}[*{{.Req}}],
{{- else}}
	idempotent: {{.Idempotent}},
{{- end}}
}

// New{{.Name}} wraps a {{.ReqName}} in a [Request]; the response message is a
// *{{.Resp}}. {{if .Arm}}It travels in the BatchCommands stream when batching is on.{{else}}TiKV does not accept it in a BatchCommands stream, so it is always sent unary.{{end}}
{{- if .Read}}
// It only reads, so it may be resent after an unknown outcome.
{{- else if .IdempotentIf}}
{{wrap (printf "It may be resent after an unknown outcome %s." .Why)}}
{{- else if .Idempotent}}
{{wrap (printf "It may be resent after an unknown outcome: %s." .Why)}}
{{- else}}
{{wrap (printf "It must not be resent after an unknown outcome: %s." .Why)}}
{{- end}}
func New{{.Name}}(q *{{.Req}}) *Request {
	return newRequest({{.Var}}, q)
}
{{end}}`))
