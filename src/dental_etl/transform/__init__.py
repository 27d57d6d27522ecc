"""The SQLMesh side of dental: generated raw/staging files, running the project, the KPI glossary."""
