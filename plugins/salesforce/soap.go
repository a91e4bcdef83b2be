package salesforce

import (
	"bytes"
	"encoding/xml"

	"github.com/edgehook/edgehook/internal/jsonx"
	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

// envelope is the part of an Outbound Message routing needs, in the SOAP
// 1.1 and Outbound Message namespaces; the sObjects are skipped.
type envelope struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Body    struct {
		Notifications *struct {
			OrganizationID string `xml:"http://soap.sforce.com/2005/09/outbound OrganizationId"`
			Notification   []struct {
				ID string `xml:"http://soap.sforce.com/2005/09/outbound Id"`
			} `xml:"http://soap.sforce.com/2005/09/outbound Notification"`
		} `xml:"http://soap.sforce.com/2005/09/outbound notifications"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

var (
	bom        = []byte("\xef\xbb\xbf")
	errNotSOAP = provider.BadRequest("plugins/salesforce: XML body is not a SOAP Outbound Message")
)

// IsXML reports whether body starts, after a byte order mark and white
// space, with '<'.
func IsXML(body []byte) bool {
	b := bytes.TrimLeft(bytes.TrimPrefix(body, bom), " \t\r\n")
	return len(b) > 0 && b[0] == '<'
}

// RouteSOAP routes an Outbound Message into rt: its OrganizationId (white
// space trimmed) is the key for the connection config field
// organizationId (none when empty), the forwarded payload is the whole XML
// as a JSON string (written into rt.Scratch), and the dedupe key is that
// of its Notification Ids (matchers.AppendBatchKey, into rt.Scratch: the
// id itself for one notification, a digest of the sorted ids for several;
// none when a notification has no Id). A body that is not a SOAP envelope
// holding a notifications element of the Outbound Message namespace is an
// error. RouteSOAP allocates: it parses with encoding/xml.
func RouteSOAP(body []byte, rt *provider.Routing) error {
	var env envelope
	if err := xml.Unmarshal(body, &env); err != nil || env.Body.Notifications == nil {
		return errNotSOAP
	}
	n := env.Body.Notifications
	rt.Field = Field
	start := len(rt.Scratch)
	rt.Scratch = jsonx.AppendBytes(rt.Scratch, body)
	rt.Payload = rt.Scratch[start:len(rt.Scratch):len(rt.Scratch)]
	if org := bytes.TrimSpace([]byte(n.OrganizationID)); len(org) > 0 {
		rt.AddKey(org)
	}
	ids := make([][]byte, 0, len(n.Notification))
	for _, nt := range n.Notification {
		id := bytes.TrimSpace([]byte(nt.ID))
		if len(id) == 0 {
			return nil // a notification without an Id: no dedupe key
		}
		ids = append(ids, id)
	}
	start = len(rt.Scratch)
	rt.Scratch = matchers.AppendBatchKey(rt.Scratch, ids)
	if len(rt.Scratch) > start {
		rt.EventID = rt.Scratch[start:len(rt.Scratch):len(rt.Scratch)]
	}
	return nil
}
