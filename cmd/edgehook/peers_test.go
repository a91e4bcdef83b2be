package main

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgehook/edgehook/internal/testsink"
)

// With the embedded spool each instance holds its own deliveries; the
// admin API of any instance lists, inspects and retries every instance's
// (they find each other in etcd).
func TestPeersDeliveryAdmin(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two gateway processes")
	}
	bin := buildBinary(t)
	etcd := freeAddr(t)
	a := startProc(t, bin, t.TempDir(), "--embedded-etcd-listen", etcd)
	b := startProc(t, bin, t.TempDir(), "--etcd", "http://"+etcd)
	gone := testsink.New(t, func(int, http.ResponseWriter) int { return http.StatusGone })
	a.put(t, "prod", `{"webhook_urls":["`+gone.URL+`"],"webhook_secret":"app"}`)
	a.put(t, "prod/integrations/github", `{"provider":"github","webhook_secret":"gh"}`)
	a.put(t, "prod/integrations/github/connections/c1", `{"config":{"installation_id":1}}`)
	time.Sleep(1500 * time.Millisecond)
	for i, p := range []*proc{a, b, b} {
		if st, _ := post(p.ingress, "prod", "peer-"+strconv.Itoa(i), time.Now()); st != 200 {
			t.Fatalf("event %d: %d", i, st)
		}
	}
	gone.Wait(t, 3, 10*time.Second)
	var list deliveryList
	eventually(t, 10*time.Second, "instance a lists all three dead letters", func() bool {
		list = deliveryList{}
		admin(t, "GET", a.admin, "/v1/environments/prod/deliveries?status=dead", &list)
		return len(list.Deliveries) == 3
	})
	var first, rest deliveryList // pages across instances, in id order
	admin(t, "GET", b.admin, "/v1/environments/prod/deliveries?status=dead&limit=2", &first)
	if len(first.Deliveries) != 2 {
		t.Fatalf("the first page has %d dead letters; want 2", len(first.Deliveries))
	}
	admin(t, "GET", b.admin, "/v1/environments/prod/deliveries?status=dead&limit=2&after="+first.Deliveries[1].ID, &rest)
	if len(rest.Deliveries) != 1 || rest.Deliveries[0].ID <= first.Deliveries[1].ID {
		t.Fatalf("the page after %s: %+v", first.Deliveries[1].ID, rest.Deliveries)
	}
	var local deliveryList
	admin(t, "GET", a.admin, "/v1/environments/prod/deliveries?status=dead&local=1", &local)
	if len(local.Deliveries) != 1 {
		t.Fatalf("instance a holds %d dead letters itself; want 1", len(local.Deliveries))
	}
	for _, d := range list.Deliveries {
		if d.Status != "gone" {
			t.Fatalf("dead letter %s is %s", d.ID, d.Status)
		}
		for _, p := range []*proc{a, b} {
			if st := admin(t, "GET", p.admin, "/v1/environments/prod/deliveries/"+d.ID, nil); st != 200 {
				t.Fatalf("GET of %s through %s: %d", d.ID, p.admin, st)
			}
		}
	}
	for _, d := range list.Deliveries { // b's through a, a's through b
		p := a
		if d.ID == local.Deliveries[0].ID {
			p = b
		}
		if st := admin(t, "POST", p.admin, "/v1/environments/prod/deliveries/"+d.ID+"/retry", nil); st != 200 {
			t.Fatalf("retry of %s through %s: %d", d.ID, p.admin, st)
		}
	}
	gone.Wait(t, 6, 10*time.Second)
	if st := admin(t, "POST", a.admin, "/v1/environments/prod/deliveries/unknown/retry", nil); st != 404 {
		t.Fatalf("retry of an unknown id: %d; want 404", st)
	}

	// Either instance finds every event, by its provider delivery id and
	// by its id, and a bulk retry through one retries both instances'
	// dead letters.
	type report struct {
		EventID    string `json:"event_id"`
		Deliveries []struct {
			ID string `json:"id"`
		} `json:"deliveries"`
	}
	for i := range 3 {
		for _, p := range []*proc{a, b} {
			var r, byID report
			if st := admin(t, "GET", p.admin, "/v1/environments/prod/integrations/github/events?provider_delivery_id=peer-"+strconv.Itoa(i), &r); st != 200 || len(r.Deliveries) != 1 {
				t.Fatalf("event peer-%d by its provider id through %s: %d %+v", i, p.admin, st, r)
			}
			if st := admin(t, "GET", p.admin, "/v1/environments/prod/events/"+r.EventID, &byID); st != 200 || len(byID.Deliveries) != 1 || byID.Deliveries[0].ID != r.Deliveries[0].ID {
				t.Fatalf("event %s through %s: %d %+v", r.EventID, p.admin, st, byID)
			}
		}
	}
	var ids []string
	eventually(t, 10*time.Second, "all three dead letters again", func() bool {
		list = deliveryList{}
		admin(t, "GET", a.admin, "/v1/environments/prod/deliveries?status=dead", &list)
		ids = ids[:0]
		for _, d := range list.Deliveries {
			ids = append(ids, `"`+d.ID+`"`)
		}
		return len(ids) == 3
	})
	req, _ := http.NewRequest("POST", "http://"+a.admin+"/v1/environments/prod/deliveries/retry", strings.NewReader(`{"ids":[`+strings.Join(ids, ",")+`]}`))
	resp, err := httpc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Results []struct {
			Status string `json:"status"`
		} `json:"results"`
	}
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(res.Results) != 3 {
		t.Fatalf("bulk retry through a: %d %+v", resp.StatusCode, res)
	}
	for i, r := range res.Results {
		if r.Status != "pending" {
			t.Fatalf("bulk retry result %d: %+v", i, r)
		}
	}
	gone.Wait(t, 9, 10*time.Second)
}
