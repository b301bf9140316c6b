// Package decide measures envelope's decision path side by side with its
// baselines: the decision alone, parsing the request first, and Open
// Policy Agent deciding the same core rules (core.rego) with a prepared
// query. It lives in the bench module so that envelope never depends on
// OPA.
package decide

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/rego"

	"envelope/cases"
	"envelope/policy"
)

//go:embed core.rego
var coreRego string

// at is the decision time of every run: the sample's process is valid then.
var at = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// Inputs are the requests measured: the interface spec's sample pen
// register, and the same with 25 phone targets (the policy's maximum).
type Inputs struct {
	Sample, Wide []byte
}

// LoadInputs reads the spec's sample from the product's testdata (root is
// the envelope checkout) and widens it to 25 targets.
func LoadInputs(root string) (Inputs, error) {
	sample, err := os.ReadFile(filepath.Join(root, "testdata/policy/cases/pen_register_spec_example.request.json"))
	if err != nil {
		return Inputs{}, err
	}
	var raw map[string]any
	if err := json.Unmarshal(sample, &raw); err != nil {
		return Inputs{}, err
	}
	var targets []any
	for i := range 25 {
		targets = append(targets, map[string]any{"kind": "phone", "value": fmt.Sprintf("+1415555%04d", 100+i)})
	}
	raw["targets"] = targets
	wide, err := json.Marshal(raw)
	return Inputs{Sample: sample, Wide: wide}, err
}

// Decide is the decision alone, on a request parsed beforehand.
func Decide(data []byte) (func(*testing.B), error) {
	p := policy.Default()
	req, err := cases.ParseRequest(data)
	if err != nil {
		return nil, err
	}
	return func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.Decide(req, at)
		}
	}, nil
}

// ParseDecide parses the request's bytes and decides, as the API does.
func ParseDecide(data []byte) (func(*testing.B), error) {
	p := policy.Default()
	if _, err := cases.ParseRequest(data); err != nil {
		return nil, err
	}
	return func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req, err := cases.ParseRequest(data)
			if err != nil {
				b.Fatal(err)
			}
			p.Decide(req, at)
		}
	}, nil
}

// OPA evaluates core.rego with a query prepared once, on the request
// already turned into OPA's input (the most favourable case for OPA: no
// parsing or validation is counted).
func OPA(data []byte) (func(*testing.B), error) {
	pq, input, err := prepare(data)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	return func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := pq.Eval(ctx, rego.EvalInput(input)); err != nil {
				b.Fatal(err)
			}
		}
	}, nil
}

func prepare(data []byte) (rego.PreparedEvalQuery, map[string]any, error) {
	var input map[string]any
	if err := json.Unmarshal(data, &input); err != nil {
		return rego.PreparedEvalQuery{}, nil, err
	}
	input["decided_at"] = at.Format(time.RFC3339)
	pq, err := rego.New(rego.Query("data.envelope.core.decision"), rego.Module("core.rego", coreRego)).PrepareForEval(context.Background())
	return pq, input, err
}

// Agree checks that OPA and envelope allow the same categories for the
// request, so the two sides of the comparison decide the same thing.
func Agree(data []byte) error {
	req, err := cases.ParseRequest(data)
	if err != nil {
		return err
	}
	var ours []string
	for _, a := range policy.Default().Decide(req, at).Allowed {
		ours = append(ours, string(a.Category))
	}
	pq, input, err := prepare(data)
	if err != nil {
		return err
	}
	rs, err := pq.Eval(context.Background(), rego.EvalInput(input))
	if err != nil || len(rs) != 1 {
		return fmt.Errorf("opa: %v (%d results)", err, len(rs))
	}
	var theirs []string
	for _, c := range rs[0].Expressions[0].Value.(map[string]any)["allowed"].([]any) {
		theirs = append(theirs, c.(string))
	}
	slices.Sort(ours)
	slices.Sort(theirs)
	if !slices.Equal(ours, theirs) {
		return fmt.Errorf("envelope allows %s, OPA allows %s", strings.Join(ours, ","), strings.Join(theirs, ","))
	}
	return nil
}
