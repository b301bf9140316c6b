package exporter

import (
	"archive/zip"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"envelope/cases"
	"envelope/cases/auditlog"
	"envelope/cases/store"
)

// A package carries the proof that its case's history is in the audit
// log: the case's audit events up to the production (intake, decision,
// verifications, approval, earlier productions), each with an inclusion
// proof against a checkpoint signed by the audit key, which the package
// holds too. A court checks them with the audit key's public half, without
// access to envelope. The production's own case.export event records the
// package's hash, so it cannot be inside the package; it is in the log,
// and in the proofs of the case's next package.
const (
	CheckpointFile  = "audit/checkpoint.txt"
	AuditEventsFile = "audit/events.json"
	// ProofFormat names the layout of AuditEventsFile.
	ProofFormat = "envelope-audit-proof/1"
)

// AuditProof is audit/events.json.
type AuditProof struct {
	Format string `json:"format"`
	// TreeSize and RootHash are the checkpoint's (hex root).
	TreeSize uint64        `json:"tree_size"`
	RootHash string        `json:"root_hash"`
	Events   []ProvenEvent `json:"events"`
}

// ProvenEvent is one audit event with its inclusion proof. Leaf is the
// exact text the tree hashed (a JSON array: seq, time, actor, action,
// entity, entity id, before, after); the other fields repeat it for the
// reader.
type ProvenEvent struct {
	Seq    int64    `json:"seq"`
	At     string   `json:"at"`
	Actor  string   `json:"actor"`
	Action string   `json:"action"`
	Leaf   string   `json:"leaf"`
	Proof  []string `json:"inclusion_proof"`
}

// Prover makes the audit proof of a package.
type Prover struct {
	DB  *store.DB
	Key *auditlog.Key
}

// write puts the checkpoint and the proven events of case c into the work
// folder and returns their sums.
func (pr *Prover) write(ctx context.Context, work string, c *cases.Case) ([]fileSum, error) {
	head, err := pr.DB.TreeHead(ctx)
	if err != nil {
		return nil, err
	}
	evs, th, err := pr.DB.ProveEvents(ctx, "case", strconv.FormatInt(c.ID, 10), head.Size)
	if err != nil {
		return nil, fmt.Errorf("prove the case's audit events: %w", err)
	}
	if string(th.Root) != string(head.Root) {
		return nil, fmt.Errorf("the audit log is not intact: its head says root %x, its leaves %x (run envelope audit verify)", head.Root, th.Root)
	}
	cp, err := pr.Key.Sign(th)
	if err != nil {
		return nil, err
	}
	ap := AuditProof{Format: ProofFormat, TreeSize: th.Size, RootHash: hex.EncodeToString(th.Root)}
	for _, e := range evs {
		pe := ProvenEvent{Seq: e.Event.Seq, At: e.Event.At.Format("2006-01-02T15:04:05.999999Z07:00"), Actor: e.Event.Actor, Action: e.Event.Action, Leaf: string(e.Leaf)}
		for _, h := range e.Proof {
			pe.Proof = append(pe.Proof, hex.EncodeToString(h))
		}
		ap.Events = append(ap.Events, pe)
	}
	js, err := json.MarshalIndent(ap, "", "  ")
	if err != nil {
		return nil, err
	}
	js = append(js, '\n')
	if err := os.MkdirAll(filepath.Join(work, "audit"), 0o700); err != nil {
		return nil, err
	}
	var sums []fileSum
	for _, f := range []struct {
		name string
		data []byte
	}{{CheckpointFile, cp}, {AuditEventsFile, js}} {
		if err := os.WriteFile(filepath.Join(work, filepath.FromSlash(f.name)), f.data, 0o600); err != nil {
			return nil, err
		}
		sums = append(sums, sumOf(f.name, f.data))
	}
	return sums, nil
}

// VerifyProof checks a package's audit proof with the audit key's
// verifier: the checkpoint's signature, that every event's leaf is in the
// checkpointed tree (RFC 6962 inclusion proof), that the events are about
// the package's case, and that an approved case's approval is among them.
// The files' hashes and the package signature are Verify's.
//
// A package without a proof (made before envelope carried one), or a
// check without the audit key, is not a failure: the package signature
// still vouches for every file. note then says what could not be
// proven, so the person checking knows what they have.
func VerifyProof(r io.ReaderAt, size int64, v note.Verifier) (probs []Problem, notice string) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return []Problem{{"(zip)", "not a readable zip file: " + err.Error()}}, ""
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		if f.Name == CheckpointFile || f.Name == AuditEventsFile || f.Name == ManifestFile {
			if _, _, data, err := hashEntry(f, true); err == nil {
				files[f.Name] = data
			}
		}
	}
	cp, haveCP := files[CheckpointFile]
	evs, haveEvs := files[AuditEventsFile]
	switch {
	case !haveCP && !haveEvs:
		return nil, "the package carries no audit proof (it was made before packages carried one): its audit events were not checked"
	case !haveCP:
		return []Problem{{CheckpointFile, "missing"}}, ""
	case !haveEvs:
		return []Problem{{AuditEventsFile, "missing"}}, ""
	case v == nil:
		return nil, "no audit key to check the audit proof with (pass --audit-key, the output of envelope audit key): its audit events were not checked"
	}
	th, err := auditlog.Open(cp, v)
	if err != nil {
		return []Problem{{CheckpointFile, err.Error()}}, ""
	}
	var ap AuditProof
	if err := json.Unmarshal(evs, &ap); err != nil {
		return []Problem{{AuditEventsFile, "is not valid JSON: " + err.Error()}}, ""
	}
	var m struct {
		Case ManifestCase `json:"case"`
	}
	json.Unmarshal(files[ManifestFile], &m) // a bad manifest is Verify's to report
	return checkEvents(&ap, th, m.Case), ""
}

// checkEvents checks each proven event against the checkpointed head.
func checkEvents(ap *AuditProof, th store.TreeHead, mc ManifestCase) []Problem {
	var probs []Problem
	bad := func(format string, args ...any) {
		probs = append(probs, Problem{AuditEventsFile, fmt.Sprintf(format, args...)})
	}
	if ap.TreeSize != th.Size || ap.RootHash != hex.EncodeToString(th.Root) {
		bad("names tree %d/%s, but the checkpoint signs %d/%x", ap.TreeSize, ap.RootHash, th.Size, th.Root)
	}
	approved := false
	for _, pe := range ap.Events {
		e, err := cases.ParseLeafData([]byte(pe.Leaf))
		if err != nil {
			bad("event %d: %v", pe.Seq, err)
			continue
		}
		if e.Seq != pe.Seq || e.Actor != pe.Actor || e.Action != pe.Action || e.Seq < 1 {
			bad("event %d: its fields do not match its leaf", pe.Seq)
			continue
		}
		if e.Entity != "case" || e.EntityID != strconv.FormatInt(mc.ID, 10) {
			bad("event %d is about %s %s, not this package's case %d", e.Seq, e.Entity, e.EntityID, mc.ID)
		}
		path := make([][]byte, len(pe.Proof))
		for i, h := range pe.Proof {
			if path[i], err = hex.DecodeString(h); err != nil {
				err = fmt.Errorf("proof hash %d is not hex", i+1)
				break
			}
		}
		if err == nil {
			err = proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(e.Seq-1), th.Size, rfc6962.DefaultHasher.HashLeaf([]byte(pe.Leaf)), path, th.Root)
		}
		if err != nil {
			bad("event %d (%s by %s) is not proven to be in the audit log of the checkpoint: %s", e.Seq, e.Action, e.Actor, store.ProofError(err))
			continue
		}
		approved = approved || e.Action == "case.approve"
	}
	if mc.ApprovedBy != "" && !approved {
		bad("the case's approval (by %s) is not among the proven events", mc.ApprovedBy)
	}
	return probs
}
