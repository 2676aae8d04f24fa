/* The report builder (/reports/new, /reports/{id}/edit): a dataset (GET /api/v1/reports/datasets), its columns
   (ticked, in order), its parameters (a class from GET /api/v1/courses/, a student of that class from its
   enrolments, dates, the rest as the API spells them) and row filters; "Preview" asks for the first rows of the
   unsaved report (POST /api/v1/reports/preview) and shows them, each cell keeping its value as the API gave it
   (data-value, JSON); "Save" creates the report (POST /api/v1/reports) or changes it (PATCH /api/v1/reports/{id}:
   a change to what it shows is a new version), then opens its page. A refusal (400) is shown next to its field. */
(function () {
  "use strict";
  const R = window.EduReports;
  const form = document.querySelector("form[data-builder]");
  if (!form) { return; }
  // (attributes, not form.dataset: a form's `dataset` is its control named "dataset")
  const reportId = form.getAttribute("data-report") || null;
  const datasetSelect = form.querySelector("select[name=dataset]");
  const columnList = form.querySelector("[data-columns]");
  const parameterBox = form.querySelector("[data-parameters]");
  const filterBox = form.querySelector("[data-row-filters]");
  const preview = form.querySelector("[data-preview]");
  const PREVIEW_ROWS = 20;

  let datasets = {};
  let courses = null; // loaded once, when a dataset first asks for a class

  // SECTION: building the form from a dataset

  function field(name, labelText, control, help) {
    const box = document.createElement("div");
    box.className = "field";
    const id = "builder-" + name.replace(/[^a-z0-9_-]/gi, "-");
    // the label names the control itself (a student picker is a box of two selects: the student's)
    const target = control.matches("select, input") ? control : control.querySelector("[data-parameter]") || control;
    target.id = id;
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = labelText;
    box.appendChild(label);
    box.appendChild(control);
    if (help) {
      const hint = document.createElement("p");
      hint.className = "muted hint";
      hint.textContent = help;
      box.appendChild(hint);
    }
    const error = document.createElement("p");
    error.className = "error";
    error.setAttribute("data-error-for", name);
    box.appendChild(error);
    return box;
  }

  function option(value, text) {
    const element = document.createElement("option");
    element.value = value;
    element.textContent = text;
    return element;
  }

  function loadCourses() {
    if (!courses) { courses = R.all("/api/v1/courses/?limit=100", 2000); }
    return courses;
  }

  function courseControl(parameter, value) {
    const select = document.createElement("select");
    select.setAttribute("data-parameter", parameter.name);
    select.setAttribute("data-field", "parameters." + parameter.name);
    select.appendChild(option("", "Loading your classes…"));
    loadCourses().then(function (found) {
      select.replaceChildren(option("", parameter.required ? "Choose a class" : "Any of your classes"));
      found.forEach(function (course) { select.appendChild(option(String(course.id), course.code + " " + course.title)); });
      if (value) { select.value = value; }
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }).catch(function (error) {
      select.replaceChildren(option("", "Could not load the classes (" + error.message + ")"));
    });
    return select;
  }

  // A student: picked among the students of a class (the report's own class parameter, or a class chosen here).
  function studentControl(parameter, value, hasCourse) {
    const box = document.createElement("span");
    box.className = "student-picker";
    const select = document.createElement("select");
    select.setAttribute("data-parameter", parameter.name);
    select.setAttribute("data-field", "parameters." + parameter.name);
    select.appendChild(option(value || "", value ? "Student " + value : "Choose a class first"));
    let classSelect = null;
    if (!hasCourse) {
      classSelect = courseControl({ name: "student-class", required: true }, "");
      classSelect.removeAttribute("data-parameter");
      classSelect.removeAttribute("data-field");
      classSelect.setAttribute("aria-label", "Class of the student");
      classSelect.setAttribute("data-student-class", "");
      box.appendChild(classSelect);
    }
    box.appendChild(select);
    function fill(courseId) {
      if (!courseId) { return; }
      R.all("/api/v1/courses/" + courseId + "/enrollments/?limit=100", 5000).then(function (enrolments) {
        const keep = select.value || value;
        select.replaceChildren(option("", "Choose a student"));
        enrolments.filter(function (each) { return each.role === "student"; }).forEach(function (each) {
          const person = each.user;
          const name = [person.first_name, person.last_name].join(" ").trim() || person.username;
          select.appendChild(option(String(person.id), name));
        });
        if (keep) { select.value = keep; }
      }).catch(function (error) {
        select.replaceChildren(option("", "Could not load the students (" + error.message + ")"));
      });
    }
    form.addEventListener("change", function (event) {
      const source = event.target;
      if (!select.isConnected) { return; }
      if (source === classSelect || (hasCourse && source.matches("[data-parameter=course]"))) { fill(source.value); }
    });
    return box;
  }

  // A module or an item of the class chosen in the report's class parameter.
  const OF_CLASS = {
    module: { path: "modules", label: function (each) { return each.title; }, keep: function () { return true; } },
    item: {
      path: "items",
      label: function (each) { return each.title + " (" + each.kind + ")"; },
      keep: function (each) { return each.kind === "assignment" || each.kind === "quiz"; },
    },
  };

  function ofClassControl(parameter, value) {
    const kind = OF_CLASS[parameter.name];
    const select = document.createElement("select");
    select.setAttribute("data-parameter", parameter.name);
    select.setAttribute("data-field", "parameters." + parameter.name);
    select.appendChild(option(value || "", value ? parameter.name + " " + value : "Any (choose a class first)"));
    form.addEventListener("change", function (event) {
      if (!event.target.matches("[data-parameter=course]") || !select.isConnected) { return; }
      const courseId = event.target.value;
      const keep = select.value || value;
      select.replaceChildren(option("", "Any"));
      if (!courseId) { return; }
      R.all("/api/v1/courses/" + courseId + "/" + kind.path + "/?limit=100", 2000).then(function (found) {
        found.filter(kind.keep).forEach(function (each) { select.appendChild(option(String(each.id), kind.label(each))); });
        if (keep) { select.value = keep; }
      }).catch(function (error) {
        select.replaceChildren(option("", "Could not load them (" + error.message + ")"));
      });
    });
    return select;
  }

  function parameterControl(parameter, value, names) {
    let control;
    const hasCourse = names.indexOf("course") >= 0;
    if (parameter.name === "course") {
      control = courseControl(parameter, value);
    } else if (parameter.name === "student") {
      control = studentControl(parameter, value, hasCourse);
    } else if (OF_CLASS[parameter.name] && hasCourse) {
      control = ofClassControl(parameter, value);
    } else {
      control = document.createElement("input");
      control.type = /_date$/.test(parameter.name) ? "date" : "text";
      control.setAttribute("data-parameter", parameter.name);
      control.setAttribute("data-field", "parameters." + parameter.name);
      const byDefault = /\(default ([^)]+)\)/.exec(parameter.help || "");
      if (byDefault && control.type === "text") { control.placeholder = byDefault[1]; }
      if (value) { control.value = value; }
    }
    const label = parameter.name.replace(/_/g, " ") + (parameter.required ? " (required)" : "");
    return field("parameters." + parameter.name, label.charAt(0).toUpperCase() + label.slice(1), control, parameter.help);
  }

  function columnItem(column, checked) {
    const item = document.createElement("li");
    item.setAttribute("data-column", column.name);
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = "columns";
    box.value = column.name;
    box.checked = checked;
    label.appendChild(box);
    label.appendChild(document.createTextNode(" " + column.name + " "));
    const about = document.createElement("span");
    about.className = "muted";
    about.textContent = "(" + column.type + ") " + column.description;
    label.appendChild(about);
    item.appendChild(label);
    [["up", "↑", "Move up"], ["down", "↓", "Move down"]].forEach(function (move) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "small-button move";
      button.setAttribute("data-move", move[0]);
      button.setAttribute("aria-label", move[2] + ": " + column.name);
      button.textContent = move[1];
      item.appendChild(button);
    });
    return item;
  }

  // Show the dataset's columns, parameters and filters; `saved`: a report's version to fill them from.
  function showDataset(name, saved) {
    const chosen = datasets[name];
    R.clearErrors(form);
    hidePreview();
    columnList.replaceChildren();
    parameterBox.replaceChildren();
    filterBox.replaceChildren();
    form.querySelector("[data-dataset-description]").textContent = chosen ? chosen.description : "";
    if (!chosen) {
      parameterBox.innerHTML = '<p class="muted">Pick a dataset first.</p>';
      return;
    }
    const byName = {};
    chosen.columns.forEach(function (column) { byName[column.name] = column; });
    const first = saved ? saved.columns.filter(function (each) { return byName[each]; }) : [];
    first.forEach(function (each) { columnList.appendChild(columnItem(byName[each], true)); });
    chosen.columns.forEach(function (column) {
      if (first.indexOf(column.name) < 0) { columnList.appendChild(columnItem(column, !saved)); }
    });
    const names = chosen.parameters.map(function (each) { return each.name; });
    const values = saved ? saved.parameters : {};
    chosen.parameters.forEach(function (parameter) {
      parameterBox.appendChild(parameterControl(parameter, values[parameter.name] || "", names));
    });
    if (!chosen.parameters.length) { parameterBox.innerHTML = '<p class="muted">This dataset takes no parameters.</p>'; }
    const filters = saved ? saved.row_filters : {};
    chosen.row_filters.forEach(function (column) {
      const input = document.createElement("input");
      input.type = "text";
      input.setAttribute("data-row-filter", column);
      input.setAttribute("data-field", "row_filters." + column);
      input.value = filters[column] || "";
      filterBox.appendChild(field("row_filters." + column, "Only rows whose " + column + " is", input, "Leave empty for every row."));
    });
  }

  columnList.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-move]");
    if (!button) { return; }
    const item = button.closest("li");
    if (button.dataset.move === "up" && item.previousElementSibling) {
      columnList.insertBefore(item, item.previousElementSibling);
    } else if (button.dataset.move === "down" && item.nextElementSibling) {
      columnList.insertBefore(item.nextElementSibling, item);
    }
    button.focus();
  });

  datasetSelect.addEventListener("change", function () { showDataset(datasetSelect.value, null); });

  // SECTION: the report as the API takes it

  function spec() {
    const parameters = {};
    form.querySelectorAll("[data-parameter]").forEach(function (control) {
      if (control.value !== "") { parameters[control.dataset.parameter] = control.value; }
    });
    const rowFilters = {};
    form.querySelectorAll("[data-row-filter]").forEach(function (control) {
      if (control.value.trim() !== "") { rowFilters[control.dataset.rowFilter] = control.value.trim(); }
    });
    const columns = Array.prototype.map.call(
      columnList.querySelectorAll("input[name=columns]:checked"), function (box) { return box.value; }
    );
    return { dataset: datasetSelect.value, columns: columns, parameters: parameters, row_filters: rowFilters };
  }

  function checked(body) {
    if (!body.dataset) { return { status: 400, body: { dataset: ["Pick a dataset."] }, message: "Pick a dataset." }; }
    if (!body.columns.length) { return { status: 400, body: { columns: ["Tick at least one column."] }, message: "" }; }
    return null;
  }

  // SECTION: preview

  function hidePreview() {
    preview.hidden = true;
    preview.querySelector("thead").replaceChildren();
    preview.querySelector("tbody").replaceChildren();
  }

  function cellText(value, type) {
    if (value === null || value === undefined) { return "—"; }
    if (type === "date-time" && typeof value === "string") { return value.slice(0, 16).replace("T", " "); }
    if (typeof value === "object") { return JSON.stringify(value); }
    if (typeof value === "boolean") { return value ? "yes" : "no"; }
    return String(value);
  }

  function showPreview(answer) {
    const head = document.createElement("tr");
    answer.columns.forEach(function (column) {
      const th = document.createElement("th");
      th.scope = "col";
      th.setAttribute("data-column", column.name);
      th.setAttribute("data-type", column.type);
      th.title = column.description;
      th.textContent = column.name;
      head.appendChild(th);
    });
    preview.querySelector("thead").replaceChildren(head);
    const rows = answer.rows.map(function (row) {
      const tr = document.createElement("tr");
      answer.columns.forEach(function (column) {
        const td = document.createElement("td");
        const value = row[column.name] === undefined ? null : row[column.name];
        td.setAttribute("data-value", JSON.stringify(value));
        td.textContent = cellText(value, column.type);
        tr.appendChild(td);
      });
      return tr;
    });
    preview.querySelector("tbody").replaceChildren.apply(preview.querySelector("tbody"), rows);
    preview.querySelector("[data-preview-scope]").textContent =
      answer.scope + " · as of " + answer.as_of.slice(0, 16).replace("T", " ") +
      " · the first " + answer.rows.length + " row" + (answer.rows.length === 1 ? "" : "s") +
      (answer.rows.length === PREVIEW_ROWS ? " (there may be more)" : "");
    preview.querySelector("[data-preview-empty]").hidden = answer.rows.length > 0;
    preview.hidden = false;
    preview.dataset.rows = String(answer.rows.length);
  }

  form.querySelector("[data-preview-button]").addEventListener("click", function (event) {
    const button = event.currentTarget;
    const body = spec();
    const refused = checked(body);
    hidePreview();
    if (refused) { R.showErrors(form, refused); return; }
    R.clearErrors(form);
    button.disabled = true;
    body.limit = PREVIEW_ROWS;
    R.api("POST", "/api/v1/reports/preview", body)
      .then(showPreview)
      .catch(function (error) { R.showErrors(form, error); })
      .finally(function () { button.disabled = false; });
  });

  // SECTION: save

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const status = form.querySelector("[data-save-status]");
    const body = spec();
    const refused = checked(body);
    if (refused) { R.showErrors(form, refused); return; }
    body.name = form.querySelector("[name=name]").value.trim();
    body.description = form.querySelector("[name=description]").value.trim();
    const visibility = form.querySelector("[name=visibility]:checked");
    body.visibility = visibility ? visibility.value : "private";
    R.clearErrors(form);
    const button = form.querySelector("[data-save-button]");
    button.disabled = true;
    status.textContent = "Saving…";
    const call = reportId ? R.api("PATCH", "/api/v1/reports/" + reportId, body) : R.api("POST", "/api/v1/reports", body);
    call.then(function (saved) {
      status.textContent = "Saved (version " + saved.version.number + ").";
      window.location.assign("/reports/" + saved.id + "/");
    }).catch(function (error) {
      status.textContent = "Not saved: see the messages above.";
      R.showErrors(form, error);
      button.disabled = false;
    });
  });

  // SECTION: start

  Promise.all([
    R.api("GET", "/api/v1/reports/datasets"),
    reportId ? R.api("GET", "/api/v1/reports/" + reportId) : Promise.resolve(null),
  ]).then(function (answers) {
    const list = answers[0].datasets;
    const report = answers[1];
    datasetSelect.replaceChildren(option("", "Choose a dataset"));
    list.forEach(function (each) {
      datasets[each.name] = each;
      datasetSelect.appendChild(option(each.name, each.title));
    });
    if (report) {
      datasetSelect.value = report.version.dataset;
      showDataset(report.version.dataset, report.version);
    }
    form.setAttribute("data-ready", "true");
  }).catch(function (error) {
    R.showErrors(form, error);
  });
})();
