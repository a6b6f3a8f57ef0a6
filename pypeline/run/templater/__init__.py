"""Run: templater."""
