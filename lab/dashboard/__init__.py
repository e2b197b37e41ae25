"""`lab dashboard`: a live web page of one running lab. The topology as a graph, each client and
resolver coloured by the site its probes reach now (v4 and v6), session states on the edges,
a router's best paths on a click, a timeline strip per node, fault buttons with their undo;
JSON endpoints beside it (app.py lists them). Starlette and uvicorn; cytoscape.js from
lab/dashboard/web (npm, `make setup`), nothing from the internet at run time.

    app.py       routes, the event stream        live.py     the worker threads and what they know
    probing.py   the dashboard's own probes      timeline.py per node: site over time, lost queries
    routing.py   sessions, best paths, links     actions.py  the fault buttons and their undo
    graph.py     the graph's elements            hub.py      events to every open page
    server.py    uvicorn, binding, shutdown      static/     the page (our own HTML, JS, CSS)
"""
