"""A software WebAuthn authenticator for tests: one P-256 key, "none" attestation, user presence and
verification flags set. It answers the options allauth's views hand to the browser with what the
browser's `navigator.credentials.create/get` would (webauthn-json's JSON form)."""

import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.utils import sha256, websafe_decode, websafe_encode
from fido2.webauthn import (
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorData,
    CollectedClientData,
)

FLAGS = AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.UV


class SoftAuthenticator:
    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.user_handle: str | None = None
        self.counter = 0

    def create(self, options: dict, origin: str) -> dict:
        public_key = options["publicKey"]
        self.user_handle = public_key["user"]["id"]
        client_data = CollectedClientData.create("webauthn.create", public_key["challenge"], origin)
        credential = AttestedCredentialData.create(
            b"\0" * 16, self.credential_id, ES256.from_cryptography_key(self.key.public_key())
        )
        auth_data = AuthenticatorData.create(
            sha256(public_key["rp"]["id"].encode()), FLAGS | AuthenticatorData.FLAG.AT, 0, credential
        )
        return {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": websafe_encode(client_data),
                "attestationObject": websafe_encode(AttestationObject.create("none", auth_data, {})),
            },
            "clientExtensionResults": {"credProps": {"rk": True}},
        }

    def get(self, options: dict, origin: str, *, rp_id: str) -> dict:
        public_key = options["publicKey"]
        allowed = [websafe_decode(c["id"]) for c in public_key.get("allowCredentials") or []]
        assert not allowed or self.credential_id in allowed
        self.counter += 1
        client_data = CollectedClientData.create("webauthn.get", public_key["challenge"], origin)
        auth_data = AuthenticatorData.create(sha256(rp_id.encode()), FLAGS, self.counter)
        signature = self.key.sign(bytes(auth_data) + client_data.hash, ec.ECDSA(hashes.SHA256()))
        return {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": websafe_encode(client_data),
                "authenticatorData": websafe_encode(auth_data),
                "signature": websafe_encode(signature),
                "userHandle": self.user_handle,
            },
            "clientExtensionResults": {},
        }
