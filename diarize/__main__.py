from diarize.cli.main import main

raise SystemExit(main())
