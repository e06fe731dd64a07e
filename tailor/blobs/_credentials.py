"""Which credential reads an Azure blob, from the dataset's `Access` and what the server has of its own.

`managedIdentity` is ours to interpret: the server's account key (from a connection string) for that account; else
azure-identity's default credential, where the environment shows one is set up; else anonymous access, which is
what the official sample client needs against a public Azurite container (it always sends `managedIdentity`).
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from azure.core.credentials import AzureNamedKeyCredential, TokenCredential

from ..errors import BlobAccessDenied
from ._azure_urls import BlobAddress
from ._policy import Access, AuthKind

if TYPE_CHECKING:
    from azure.identity import DefaultAzureCredential

# What BlobClient takes as `credential`: a SAS token, an account key, a token source, or None (anonymous).
Credential = str | AzureNamedKeyCredential | TokenCredential | None

# The variables azure-identity's environment, workload and managed identity credentials read. Without any of them
# DefaultAzureCredential would only probe (the instance metadata service, developer tools), slowly, and fail.
_AMBIENT_IDENTITY_VARIABLES = (
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_FEDERATED_TOKEN_FILE",
    "IDENTITY_ENDPOINT",
    "MSI_ENDPOINT",
)


class CredentialChooser:
    def __init__(self) -> None:
        self._ambient: DefaultAzureCredential | None = None
        self._lock = threading.Lock()

    def credential(self, address: BlobAddress, access: Access, shown: str) -> Credential:
        if access.kind is AuthKind.SAS:
            token = (access.sas_token or "").strip().lstrip("?")
            if not token:
                raise BlobAccessDenied(shown, "authentication kind 'sas' needs a SAS token")
            return token
        if access.kind is AuthKind.MANAGED_IDENTITY:
            account = address.account
            if account is not None and account.account_key is not None and account.name is not None:
                return AzureNamedKeyCredential(account.name, account.account_key)
            if account is not None and account.sas_token is not None:
                return account.sas_token.lstrip("?")
            if address.https and ambient_identity_configured():  # bearer tokens are only ever sent over https
                return self._ambient_credential()
        return None  # anonymous; a SAS in the URL itself still applies

    def _ambient_credential(self) -> TokenCredential:
        with self._lock:  # one credential for the reader's life: it caches its tokens
            if self._ambient is None:
                self._ambient = ambient_credential()
            return self._ambient


def ambient_credential() -> DefaultAzureCredential:
    """azure-identity's default credential, limited to the sources the environment variables configure: developer
    tools are no server identity."""
    from azure.identity import DefaultAzureCredential  # a slow import, needed on Azure hosts only

    return DefaultAzureCredential(
        exclude_cli_credential=True,
        exclude_developer_cli_credential=True,
        exclude_powershell_credential=True,
        exclude_visual_studio_code_credential=True,
        exclude_shared_token_cache_credential=True,
        exclude_interactive_browser_credential=True,
        exclude_broker_credential=True,
    )


def ambient_identity_configured() -> bool:
    """True when the environment sets up an Azure identity for this process (a service principal, workload
    identity, or App Service / Container Apps managed identity). This reads the environment on purpose: these are
    azure-identity's variables, set by the Azure host, not Tailor settings."""
    return any(os.environ.get(name) for name in _AMBIENT_IDENTITY_VARIABLES)
