package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
	"github.com/spf13/cobra"
)

func init() { register(newPatch) }

type patchOpts struct {
	ds        datastoreOpts
	patch     string
	typ       string
	namespace string
}

func newPatch(s *streams) *cobra.Command {
	o := &patchOpts{}
	c := &cobra.Command{
		Use:   "patch KIND NAME -p PATCH",
		Short: "Change fields of a resource in place with a JSON merge patch",
		Long: "patch reads the resource, merges the JSON patch into it (objects merge recursively,\n" +
			"null deletes a field, lists are replaced whole), validates the result and writes it\n" +
			"back only if nobody changed it meanwhile.",
		Example: `  palisade patch kubecontrollersconfiguration default --patch='{"spec": {"controllers": {"node": {"hostEndpoint": {"autoCreate": "Enabled"}}}}}'`,
		Args:    cobra.ExactArgs(2),
		RunE:    func(_ *cobra.Command, args []string) error { return runPatch(s, o, args[0], args[1]) },
	}
	f := c.Flags()
	f.StringVarP(&o.patch, "patch", "p", "", "the patch, a JSON object")
	f.StringVarP(&o.typ, "type", "t", "strategic", "patch type: strategic (for Calico kinds the same as merge) or merge")
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace of a namespaced kind (default \"default\")")
	addDatastoreFlags(c, &o.ds)
	return c
}

// PatchError: the patch itself is unusable.
type PatchError struct{ Msg string }

func (e *PatchError) Error() string { return e.Msg }

// parsePatch checks the patch is a JSON object before the datastore is
// asked, and says where JSON syntax breaks.
func parsePatch(p string) (map[string]any, error) {
	if strings.TrimSpace(p) == "" {
		return nil, &PatchError{"no patch given: use -p/--patch with a JSON object"}
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(p))
	dec.UseNumber()
	err := dec.Decode(&v)
	if err == nil && dec.More() {
		err = errors.New("unexpected text after the JSON object")
	}
	if err != nil {
		var se *json.SyntaxError
		hint := ""
		if errors.As(err, &se) {
			hint = fmt.Sprintf(" at offset %d", se.Offset)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = errors.New("unexpected end of JSON input")
			hint = fmt.Sprintf(" (%s)", bracketHint(p))
		}
		return nil, &PatchError{fmt.Sprintf("patch is not valid JSON: %v%s", err, hint)}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &PatchError{"patch must be a JSON object, e.g. '{\"spec\": {...}}'"}
	}
	return m, nil
}

// bracketHint counts the unclosed braces and brackets of a truncated patch.
func bracketHint(p string) string {
	var stack []byte
	inString, escaped := false, false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			stack = append(stack, c)
		case (c == '}' || c == ']') && len(stack) > 0:
			stack = stack[:len(stack)-1]
		}
	}
	if inString {
		return "a string is not closed"
	}
	braces, brackets := 0, 0
	for _, c := range stack {
		if c == '{' {
			braces++
		} else {
			brackets++
		}
	}
	return fmt.Sprintf("%d '{' and %d '[' are not closed", braces, brackets)
}

// mergePatch applies an RFC 7386 JSON merge patch to target.
func mergePatch(target any, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}

func runPatch(s *streams, o *patchOpts, kindArg, name string) error {
	if o.typ != "strategic" && o.typ != "merge" {
		return fail(s, "hit error: patch type %q is not supported: use strategic or merge", o.typ)
	}
	patch, err := parsePatch(o.patch)
	if err != nil {
		return fail(s, "hit error: %v", err)
	}
	kind, err := lookupKind(kindArg)
	if err != nil {
		return fail(s, "%v", err)
	}
	if name == "" {
		return fail(s, "resource name may not be empty")
	}
	ns, err := resolveNamespace(kind, "", o.namespace, false)
	if err != nil {
		return fail(s, "hit error: %v", err)
	}
	ss, err := openSession(&o.ds)
	if err != nil {
		return failErr(s, err)
	}
	defer ss.close()
	if err := patchObject(ss, store.Key{Kind: kind, Namespace: ns, Name: name}, patch); err != nil {
		if store.IsUnavailable(err) {
			return failErr(s, err)
		}
		return fail(s, "hit error: %v", err)
	}
	fmt.Fprintf(s.out, "Successfully patched 1 '%s' resource\n", kindName(kind))
	return nil
}

// patchObject gets the object, patches its JSON, decodes the result
// strictly (defaulting and validating it) and updates it with the
// resourceVersion it was read at.
func patchObject(ss *session, k store.Key, patch map[string]any) error {
	cur, err := ss.get(k)
	if err != nil {
		return err
	}
	api.SetTypeMeta(cur)
	data, err := json.Marshal(cur)
	if err != nil {
		return err
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return err
	}
	patched, err := json.Marshal(mergePatch(doc, patch))
	if err != nil {
		return err
	}
	obj, err := api.DecodeOne("patched resource", patched)
	if err != nil {
		return fmt.Errorf("creating resource from patched data: %w", cliError(err))
	}
	if store.KeyOf(obj) != k {
		return &PatchError{fmt.Sprintf("the patch must not change the kind, name or namespace of %s", k)}
	}
	obj.SetResourceVersion(cur.GetResourceVersion())
	if err := refuseMirror(obj, "apply or replace"); err != nil {
		return err
	}
	if _, err := ss.update(obj); err != nil {
		return fmt.Errorf("updating existing resource: %w", err)
	}
	return nil
}
