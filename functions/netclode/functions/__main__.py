"""`python -m netclode.functions --target NAME ...`: one function process (netclode.serving),
started with the cyclic garbage collector off (netclode_protocol/startup.py); `serving.serve`
turns it back on before gunicorn forks the worker that serves."""

from netclode_protocol.startup import collector_off

if __name__ == "__main__":
    collector_off()
    from netclode.serving import main

    main()
