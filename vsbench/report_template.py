"""The HTML page of ``vsbench report`` (a jinja2 template; autoescaped, images as data URIs).

The page records in its own DOM whether every image decoded (``#image-check``: data-loaded,
data-total; each ``<img>`` gets data-natural-width) and any JavaScript error (``#js-errors``),
so that a headless browser's ``--dump-dom`` shows whether it rendered.
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>vsbench report</title>
<script>
window.onerror = function (message, source, line) {
  var box = document.getElementById("js-errors");
  if (!box) { return false; }
  box.setAttribute("data-count", String(Number(box.getAttribute("data-count")) + 1));
  box.textContent += message + " (" + source + ":" + line + ")\\n";
  return false;
};
window.addEventListener("load", function () {
  var images = document.images, loaded = 0;
  for (var i = 0; i < images.length; i++) {
    images[i].setAttribute("data-natural-width", String(images[i].naturalWidth));
    if (images[i].complete && images[i].naturalWidth > 0) { loaded++; }
  }
  var check = document.getElementById("image-check");
  check.setAttribute("data-total", String(images.length));
  check.setAttribute("data-loaded", String(loaded));
  check.textContent = loaded + " of " + images.length + " images loaded";
});
</script>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222;
       padding: 0 1em; }
h1 { margin-bottom: 0.2em; }
h2 { border-bottom: 2px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
h3 { margin-top: 1.5em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.5em; text-align: right; white-space: nowrap; }
h4 { margin: 1em 0 0.2em 0; }
th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; }
small { color: #666; }
.caption, .note { color: #555; font-size: 0.85em; max-width: 60em; }
.warning { color: #a05a00; }
figure { margin: 0.5em 0 1.5em 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #555; }
.stale { color: #b00; font-weight: bold; }
nav ul { columns: 2; }
#js-errors { color: #b00; white-space: pre-wrap; }
footer { margin-top: 3em; font-size: 0.8em; color: #777; }
</style>
</head>
<body>
<h1>vsbench report</h1>
<p class="note">{{ n_runs }} completed run{{ "s" if n_runs != 1 }} under
<code>{{ results_dir }}</code>, {{ sections|length }} leaderboard{{ "s" if sections|length != 1 }};
made {{ generated }}. Runs on different datasets, splits or evaluation settings are ranked
separately, never averaged together.</p>
{% if warnings %}<ul class="warning">
{% for w in warnings %}<li>{{ w }}</li>{% endfor %}
</ul>{% endif %}
<nav><ul>
{% for s in sections %}<li><a href="#{{ s.anchor }}">{{ s.title }}</a></li>{% endfor %}
</ul></nav>
{% for s in sections %}
<section id="{{ s.anchor }}">
<h2>{{ s.title }}{% if s.stale %} <span class="stale">STALE: not the current split
manifest</span>{% endif %}</h2>
<p class="note">Channels: {{ s.channels|join(", ") }}. Methods: {{ s.methods|join(", ") }}.</p>

<h3>Leaderboard</h3>
{% for t in s.leaderboard %}
<h4>{{ t.metric }}</h4>
{{ t.html|safe }}
{% endfor %}
<p class="caption">{{ s.caption }}</p>

<h3>Per-channel metrics</h3>
{% for chart in s.charts %}
<figure><img src="{{ chart.src }}" alt="{{ chart.alt }}">
<figcaption>{{ chart.caption }}</figcaption></figure>
{% endfor %}

<h3>The same test fields predicted by every method</h3>
{% if s.gallery %}
<p class="note">Rows: the ground truth, then each method (its run with the lowest seed that saved
predictions); columns: the brightfield input (middle plane) and every channel, all on the same
[0, 1] scale.</p>
{% for field in s.gallery %}
<figure><img src="{{ field.src }}" alt="{{ field.alt }}">
<figcaption>{{ field.caption }}</figcaption></figure>
{% endfor %}
{% else %}<p class="note">No run of this leaderboard saved prediction arrays
(<code>predictions.npz</code>).</p>{% endif %}
{% for p in s.previews %}
<figure><img src="{{ p.src }}" alt="{{ p.alt }}"><figcaption>{{ p.caption }}</figcaption></figure>
{% endfor %}

{% if s.masks %}
<h3>Masks used by mask-guided methods</h3>
{% for m in s.masks %}
<figure><img src="{{ m.src }}" alt="{{ m.alt }}"><figcaption>{{ m.caption }}</figcaption></figure>
{% endfor %}
{% endif %}

<h3>Training loss</h3>
{% if s.loss %}<figure><img src="{{ s.loss.src }}" alt="{{ s.loss.alt }}">
<figcaption>{{ s.loss.caption }}</figcaption></figure>
{% else %}<p class="note">No run has a training log.</p>{% endif %}

<h3>Speed</h3>
<table>
<tr><th>method</th><th>seed</th><th>run</th><th>device</th><th>epochs</th>
<th>training (s)</th><th>prediction (s / image)</th><th>test images</th></tr>
{% for r in s.speed %}
<tr><td>{{ r.method }}</td><td>{{ r.seed }}</td><td>{{ r.run }}</td><td>{{ r.device }}</td>
<td>{{ r.epochs }}</td><td>{{ r.train_seconds }}</td><td>{{ r.predict_seconds }}</td>
<td>{{ r.n_test_images }}</td></tr>
{% endfor %}
</table>
</section>
{% endfor %}
<footer>
<p id="image-check" data-total="-1" data-loaded="-1">image check did not run</p>
<div id="js-errors" data-count="0"></div>
</footer>
</body>
</html>
"""
