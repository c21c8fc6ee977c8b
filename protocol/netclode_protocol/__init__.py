"""What the control plane, the sandbox runtime and the secret proxy share: nothing else of ours."""
