package retention_test

import (
	"reflect"
	"testing"

	"envelope/cases/blob"
	"envelope/cases/blob/blobtest"
	"envelope/cases/retention"
	"envelope/cases/store"
	"envelope/cases/store/storetest"
)

// With packages in an S3 bucket (--blobs s3://...), the purge of a
// closed case deletes its package object from the bucket, so no instance
// serves it after; the package of a case kept stays.
func TestPurgeDeletesFromBucket(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s3 := blobtest.NewS3(t, "envelope")
		b, err := blob.Open(ctx, s3.Setting("prefix=packages/"), db)
		if err != nil {
			t.Fatal(err)
		}
		f := newFixtureIn(t, db, b)
		sub, kept := f.subpoena("+14155550100"), f.subpoena("+14155550108")
		subPkg, keptPkg := f.export(sub), f.export(kept)
		f.close(sub)
		if !s3.Has(t, "packages/"+subPkg.FileName) || !s3.Has(t, "packages/"+keptPkg.FileName) {
			t.Fatal("the packages are not in the bucket")
		}
		if n := f.count("SELECT COUNT(*) FROM blobs"); n != 0 {
			t.Fatalf("%d packages stored in the database too", n)
		}
		f.set(T0.Add(100 * day))
		rep := f.purge(retention.Settings{Closed: 90 * day}, false)
		if p := purgedOf(rep, sub); p == nil || !reflect.DeepEqual(p.PackageFiles, []string{subPkg.FileName}) {
			t.Fatalf("purged %+v", rep.Purged)
		}
		if s3.Has(t, "packages/"+subPkg.FileName) {
			t.Error("the purged case's package is still in the bucket")
		}
		if f.stored(subPkg) || !f.stored(keptPkg) {
			t.Error("the store does not answer as the bucket holds")
		}
		f.verifyAudit()
	})
}
