package kvrpc_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc/credentials"

	"github.com/tikvgo/tikvgo/kvrpc"
)

// selfSigned returns a server certificate for 127.0.0.1 and a pool that
// trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tikv"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestTLS(t *testing.T) {
	t.Parallel()
	cert, roots := selfSigned(t)
	f := startStore(t, &fakeStore{}, credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}}))

	c := newClient(t, kvrpc.WithTLSConfig(&tls.Config{RootCAs: roots}))
	for _, req := range []*kvrpc.Request{rawGet("batched"), func() *kvrpc.Request { r := rawGet("unary"); r.SetUnary(); return r }()} {
		if _, err := c.Send(t.Context(), f.addr, req); err != nil {
			t.Fatalf("TLS send: %v", err)
		}
	}

	// A client that does not trust the certificate must fail, not fall
	// back to plaintext.
	bad := newClient(t, kvrpc.WithTLSConfig(&tls.Config{RootCAs: x509.NewCertPool()}), kvrpc.WithDialTimeout(time.Second))
	if _, err := bad.Send(t.Context(), f.addr, rawGet("x")); err == nil {
		t.Fatal("untrusted TLS server accepted")
	}
}
