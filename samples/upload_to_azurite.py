"""Upload a bundled sample dataset to a blob container, as a user would before registering it with Tailor.

    python samples/upload_to_azurite.py                 # samples/fruit -> container "fruit" on local Azurite
    python samples/upload_to_azurite.py shapes --private

The layout is kept (train.json beside images/), so the relative image references in train.json resolve against the
file's own blob URL. Default target: Azurite on 127.0.0.1:10000; set AZURE_STORAGE_CONNECTION_STRING for another.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient, PublicAccess

AZURITE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
)
SAMPLES = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sample", nargs="?", default="fruit", choices=["fruit", "shapes"])
    parser.add_argument("--container", help="container name (default: the sample's name)")
    parser.add_argument("--private", action="store_true", help="no anonymous read access")
    args = parser.parse_args()

    service = BlobServiceClient.from_connection_string(os.environ.get("AZURE_STORAGE_CONNECTION_STRING", AZURITE))
    container = service.get_container_client(args.container or args.sample)
    try:
        container.create_container(public_access=None if args.private else PublicAccess.BLOB)
    except ResourceExistsError:
        pass
    root = SAMPLES / args.sample
    files = sorted(p for p in root.rglob("*") if p.is_file())
    for path in files:
        with path.open("rb") as data:
            container.upload_blob(path.relative_to(root).as_posix(), data, overwrite=True)
    print(f"uploaded {len(files)} files; annotation file: {container.url}/train.json")


if __name__ == "__main__":
    main()
