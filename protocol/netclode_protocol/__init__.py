"""What the control plane, the sandbox runtime and the secret proxy agree on."""
