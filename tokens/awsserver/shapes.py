"""Error documents in each protocol's own shape, as botocore parses them.

    query (IAM, STS, SQS ...)  <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>
    ec2                        <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/>
    rest-xml (S3)              <Error><Code/><Message/><RequestId/></Error>
    json / rest-json           {"__type": code, "message": ...} and the x-amzn-ErrorType header
    smithy-rpc-v2-cbor         the same map in CBOR (CloudWatch)
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from .errors import AwsApiFault
from .query import IAM_NS, NAMESPACES, document, xml_text

Rendered = tuple[int, bytes, dict[str, str]]


def render(protocol: str, service: str, e: AwsApiFault, request_id: str) -> Rendered:
    headers = {"x-amzn-RequestId": request_id}
    if protocol == "ec2":
        root = ET.Element("Response")
        err = ET.SubElement(ET.SubElement(root, "Errors"), "Error")
        ET.SubElement(err, "Code").text = xml_text(e.code)
        ET.SubElement(err, "Message").text = xml_text(e.message)
        ET.SubElement(root, "RequestID").text = request_id
        return e.status, document(root), {**headers, "content-type": "text/xml"}
    if protocol == "rest-xml":
        root = ET.Element("Error")
        ET.SubElement(root, "Code").text = xml_text(e.code)
        ET.SubElement(root, "Message").text = xml_text(e.message)
        ET.SubElement(root, "RequestId").text = request_id
        return e.status, document(root), {**headers, "content-type": "application/xml",
                                          "x-amz-request-id": request_id}
    if protocol == "smithy-rpc-v2-cbor":
        from fido2 import cbor

        body = cbor.encode({"__type": e.code, "message": e.message})
        return e.status, body, {**headers, "smithy-protocol": "rpc-v2-cbor",
                                "content-type": "application/cbor"}
    if protocol in ("json", "rest-json"):
        body = json.dumps({"__type": e.code, "message": e.message}).encode()
        return e.status, body, {**headers, "x-amzn-ErrorType": e.code,
                                "content-type": "application/x-amz-json-1.1"}
    root = ET.Element("ErrorResponse", xmlns=NAMESPACES.get(service, IAM_NS))
    err = ET.SubElement(root, "Error")
    ET.SubElement(err, "Type").text = e.fault
    ET.SubElement(err, "Code").text = xml_text(e.code)
    ET.SubElement(err, "Message").text = xml_text(e.message)
    ET.SubElement(root, "RequestId").text = request_id
    return e.status, document(root), {**headers, "content-type": "text/xml"}
